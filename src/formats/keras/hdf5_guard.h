// A read-only HDF5 file driver that checks each global heap collection
// before libhdf5 parses it. Keras keeps every string attribute (the model
// config, layer and weight names) as a variable-length string, and those
// are read through global heap collections.
#pragma once

#include <hdf5.h>

namespace modelcut::keras::h5 {

// A new file access property list (the caller closes it) that opens files
// read-only through the checking driver. Call with the library lock held.
hid_t checked_read_access();

}  // namespace modelcut::keras::h5
