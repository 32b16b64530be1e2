// A read-only HDF5 file driver that checks each global heap collection
// before libhdf5 parses it. Keras keeps every string attribute (the model
// config, layer and weight names) as a variable-length string, and those
// are read through global heap collections. It also reads an HDF5 file that
// lies inside another file (a .keras archive's stored weights member) in
// place, at its offset.
#pragma once

#include <hdf5.h>

#include <cstdint>

namespace modelcut::keras::h5 {

// Where the HDF5 file lies in the file opened: a zip member stored
// uncompressed is read in place, at its offset. {0, 0}: the whole file.
struct FileSpan {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

// A new file access property list (the caller closes it) that opens files
// read-only through the checking driver, seeing only `span` of the file
// (the open fails when the file is shorter). Call with the library lock held.
hid_t checked_read_access(const FileSpan& span = {});

}  // namespace modelcut::keras::h5
