// A small RAII layer over the HDF5 C library, with just what the Keras
// adapter needs: open or create a file, walk groups, read and write string
// attributes, and copy whole objects (groups with their datasets) from one
// file to another without reading the data into memory.
//
// Every failure throws modelcut::Error naming the file and the object; the
// HDF5 library's own error printing is switched off.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hdf5_guard.h"

namespace modelcut::keras::h5 {

struct AttributeWalk;

// The HDF5 library (as Debian builds it) is not thread-safe: hold this lock
// around every use of it, closing files included.
std::mutex& library_lock();

// Owns one HDF5 identifier (file, group, attribute, ...) and closes it.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(other.id_) { other.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      other.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

class File {
 public:
  // Opens an existing file read-only (through the checking driver of
  // hdf5_guard.h); throws Error when it is not HDF5. Messages name the
  // file `shown_as` (default: path).
  static File open_read(const std::filesystem::path& path, const std::string& shown_as = "");
  // Opens the HDF5 file that lies at `span` of the file at `path` (a zip
  // member stored uncompressed), read-only, through the checking driver.
  static File open_read_at(const std::filesystem::path& path, const FileSpan& span, const std::string& shown_as);
  // Creates (truncates) a file for writing, its first `user_block` bytes
  // (0, or a power of two from 512) left to the caller.
  static File create(const std::filesystem::path& path, std::uint64_t user_block = 0);

  hid_t id() const { return handle_.get(); }
  const std::filesystem::path& path() const { return path_; }  // as shown in messages
  // Of a file opened for reading: its bytes are those of span() in the
  // file open as descriptor() (owned by the library; valid while open).
  // span().size is the HDF5 file's size.
  const FileSpan& span() const { return span_; }
  int descriptor() const;
  // Flushes and closes; throws Error if HDF5 reports a failure.
  void close();
  // Of a file opened for reading: its attributes as walked once, at the
  // first call, in an isolated child (hdf5_attribute_walk.h). Throws Error
  // when libhdf5 crashed, hung or ran out of memory there; nullptr when it
  // failed cleanly, and for files opened for writing (they change).
  const AttributeWalk* attribute_walk() const;

 private:
  Handle handle_;
  std::filesystem::path path_;
  FileSpan span_;
  bool for_reading_ = false;
  // Filled lazily: const readers share it (under library_lock()).
  mutable bool walked_ = false;
  mutable std::shared_ptr<const AttributeWalk> walk_;
};

// Whether the bytes at `span` of the file begin with the HDF5 signature
// (h5py writes no user block, so Keras's weights files do).
bool has_signature(const std::filesystem::path& path, const FileSpan& span);

// Throws Error naming the object when the file reaches outside itself:
// external or user-defined links, datasets with external raw storage,
// virtual datasets.
void refuse_outside_references(const File& file);

// Path queries relative to the file's root ("a/b/c").
bool exists(const File& file, const std::string& path);
bool is_group(const File& file, const std::string& path);
bool is_dataset(const File& file, const std::string& path);
// A group's link, by name, and its kind (hard, soft, external, ...).
struct Link {
  std::string name;
  H5L_type_t type;
};
// Appends the links of the group open as `group` to `links`, in name order;
// false when libhdf5 cannot list them (the caller names the group).
bool list_links(hid_t group, std::vector<Link>& links);
// Names of the links in a group, in name order.
std::vector<std::string> children(const File& file, const std::string& group);
// Number of datasets below a group (recursively).
std::size_t count_datasets(const File& file, const std::string& group);
// Paths of the datasets below a group (recursively, each object once), in
// name order.
std::vector<std::string> datasets_below(const File& file, const std::string& group);
// Bytes of a dataset's data as its type and dims state them, read from its
// header (the data is not read); nullopt when it is not a dataset or the
// size does not fit in 64 bits.
std::optional<std::uint64_t> dataset_bytes(const File& file, const std::string& path);

// A string attribute (fixed or variable length), or nullopt when absent.
std::optional<std::string> read_string_attribute(const File& file, const std::string& object, const std::string& name);

// Makes sure the attribute messages of `object` (open as `target`) have
// been walked in an isolated child (isolated_call.h) before this process
// decodes them, and fails with one line naming the object (or the file) if
// libhdf5 crashed, hung or ran out of memory there. Call it before anything
// in this process asks libhdf5 about the object's attributes (H5Aexists,
// H5Aopen, H5Oget_info with attributes). The file's one walk
// (File::attribute_walk) answers for the objects it reached; any other
// object is walked in a child of its own.
void check_attribute_messages(const File& file, const std::string& object, hid_t target);
// A 1-D array of strings, also when split over "name0", "name1", ... as
// Keras does for large lists; an empty numeric array reads as empty; nullopt
// when absent.
std::optional<std::vector<std::string>> read_string_list_attribute(const File& file, const std::string& object,
                                                                   const std::string& name);

void create_group(File& file, const std::string& path);  // with missing parents
// Variable-length UTF-8 strings, as h5py writes Python str.
void write_string_attribute(File& file, const std::string& object, const std::string& name, const std::string& value);
void write_string_list_attribute(File& file, const std::string& object, const std::string& name,
                                 const std::vector<std::string>& values);

// Copies the object at `source_path` (with everything below it and its
// attributes) to `target_path` in `target`, creating missing parent groups.
// Call check_copies on the same objects first.
void copy_object(const File& source, const std::string& source_path, File& target, const std::string& target_path);

// Makes the copies of the objects at `source_paths` in an isolated child
// (isolated_call.h), into throwaway in-memory files, and fails with one line
// naming the object (or the file) if libhdf5 crashed, hung, ran out of
// memory or refused there: copy_object then copies what came through.
void check_copies(const File& source, const std::vector<std::string>& source_paths);

}  // namespace modelcut::keras::h5
