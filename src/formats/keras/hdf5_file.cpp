// HDF5 helpers for the Keras adapter (see hdf5_file.h).
#include "hdf5_file.h"

#include <fcntl.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <set>
#include <utility>

#include "hdf5_attribute_walk.h"
#include "hdf5_guard.h"
#include "isolated_call.h"
#include "modelcut/error.h"
#include "util/file_descriptor.h"

namespace modelcut::keras::h5 {
namespace {

// HDF5 prints its error stack to stderr by default; failures are reported
// as modelcut errors instead.
void quiet_hdf5() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

std::string where(const File& file, const std::string& object) {
  return quoted(file.path().string() + (object.empty() ? std::string() : ":" + object));
}

const char* object_path(const std::string& path) { return path.empty() ? "/" : path.c_str(); }

Handle open_object(const File& file, const std::string& path) {
  Handle object(H5Oopen(file.id(), object_path(path), H5P_DEFAULT));
  if (!object.valid()) fail(where(file, path), ": no such object in the HDF5 file");
  return object;
}

H5I_type_t object_type(const File& file, const std::string& path) {
  if (!exists(file, path)) return H5I_BADID;
  Handle object(H5Oopen(file.id(), object_path(path), H5P_DEFAULT));
  return object.valid() ? H5Iget_type(object.get()) : H5I_BADID;
}

// The header address of an open object: how the file's attribute walk
// names it (HADDR_UNDEF, which the walk never holds, when unknown).
haddr_t address_of(hid_t object) {
  H5O_info_t info;
  return H5Oget_info2(object, &info, H5O_INFO_BASIC) < 0 ? HADDR_UNDEF : info.addr;
}

// Reads every string of an attribute (scalar or 1-D) of the object at
// `address`.
std::vector<std::string> read_strings(const File& file, const std::string& object, haddr_t address,
                                      const std::string& name, hid_t attribute) {
  Handle type(H5Aget_type(attribute));
  Handle space(H5Aget_space(attribute));
  if (!type.valid() || !space.valid()) fail(where(file, object), ": cannot read attribute ", quoted(name));
  // Keras's longest string lists are a model's weight names: far below
  // these, which keep a damaged header from sizing the buffers below.
  constexpr hssize_t kMaxStrings = hssize_t{1} << 22;
  constexpr std::size_t kMaxFixedBytes = std::size_t{1} << 30;
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (count < 0) fail(where(file, object), ": cannot read attribute ", quoted(name));
  if (count > kMaxStrings) {
    fail(where(file, object), ": attribute ", quoted(name), " holds ", count, " values, more than the ", kMaxStrings,
         " accepted");
  }
  if (H5Tget_class(type.get()) != H5T_STRING) {
    if (count == 0) return {};  // h5py writes an empty list as an empty float array
    fail(where(file, object), ": attribute ", quoted(name), " is not a string");
  }
  std::vector<std::string> strings;
  strings.reserve(static_cast<std::size_t>(count));
  const H5T_cset_t charset = H5Tget_cset(type.get());
  Handle memory_type(H5Tcopy(H5T_C_S1));
  H5Tset_cset(memory_type.get(), charset);
  if (H5Tis_variable_str(type.get()) > 0) {
    H5Tset_size(memory_type.get(), H5T_VARIABLE);
    if (count == 0) return strings;
    // The file's walk read most strings already, in its one child.
    if (const AttributeWalk* walk = file.attribute_walk()) {
      const auto found = walk->strings.find({address, name});
      if (found != walk->strings.end() && found->second.size() == static_cast<std::size_t>(count)) {
        return found->second;
      }
    }
    // NB: H5Aread follows each string's global heap ID into its collection
    // and, in libhdf5 1.10.8, checks the object index only with debug-build
    // asserts: a damaged ID reads wild memory, and sizes come from the file.
    // hdf5_guard checks the collections but cannot see the IDs, so the read
    // runs isolated (isolated_call.h); the strings come back packed. Only a
    // string the walk left out (it failed there) gets a child of its own.
    std::string why;
    const auto packed = call_isolated(
        [&]() -> std::optional<std::string> {
          std::vector<char*> buffer(static_cast<std::size_t>(count), nullptr);
          if (H5Aread(attribute, memory_type.get(), buffer.data()) < 0) return std::nullopt;
          std::string out;
          for (const char* text : buffer) {
            const std::uint64_t size = text ? std::strlen(text) : 0;
            out.append(reinterpret_cast<const char*>(&size), sizeof size);
            if (text) out.append(text, size);
          }
          return out;
        },
        why);
    if (!packed) {
      fail(where(file, object), ": cannot read attribute ", quoted(name), " (a damaged file?",
           why.empty() ? "" : " the HDF5 library failed on it: " + why, ")");
    }
    std::size_t position = 0;
    while (position < packed->size()) {
      std::uint64_t size = 0;
      if (packed->size() - position < sizeof size) break;
      std::memcpy(&size, packed->data() + position, sizeof size);
      position += sizeof size;
      if (size > packed->size() - position) break;
      strings.emplace_back(packed->data() + position, static_cast<std::size_t>(size));
      position += static_cast<std::size_t>(size);
    }
    if (position != packed->size() || strings.size() != static_cast<std::size_t>(count)) {
      fail(where(file, object), ": cannot read attribute ", quoted(name), " (a damaged file?)");
    }
  } else {
    const std::size_t size = H5Tget_size(type.get());
    if (size == 0 || size > kMaxFixedBytes / static_cast<std::size_t>(count + 1)) {
      fail(where(file, object), ": attribute ", quoted(name), " has strings of ", size, " bytes; too large");
    }
    H5Tset_size(memory_type.get(), size);
    H5Tset_strpad(memory_type.get(), H5T_STR_NULLPAD);
    std::vector<char> buffer(size * static_cast<std::size_t>(count) + 1, '\0');
    if (count > 0 && H5Aread(attribute, memory_type.get(), buffer.data()) < 0) {
      fail(where(file, object), ": cannot read attribute ", quoted(name));
    }
    for (hssize_t i = 0; i < count; ++i) {
      const char* begin = buffer.data() + static_cast<std::size_t>(i) * size;
      strings.emplace_back(begin, strnlen(begin, size));
    }
  }
  return strings;
}

Handle string_type() {
  Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  return type;
}

void write_strings(File& file, const std::string& object, const std::string& name,
                   const std::vector<std::string>& values, bool scalar) {
  Handle target = open_object(file, object);
  if (H5Aexists(target.get(), name.c_str()) > 0) H5Adelete(target.get(), name.c_str());
  const hsize_t count = values.size();
  Handle space(scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &count, nullptr));
  Handle type = string_type();
  Handle attribute(H5Acreate2(target.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  std::vector<const char*> pointers;
  for (const std::string& value : values) pointers.push_back(value.c_str());
  if (!attribute.valid() || (!pointers.empty() && H5Awrite(attribute.get(), type.get(), pointers.data()) < 0)) {
    fail(where(file, object), ": cannot write attribute ", quoted(name));
  }
}

std::string external_target(hid_t file, const std::string& path) {
  H5L_info_t info;
  if (H5Lget_info(file, path.c_str(), &info, H5P_DEFAULT) < 0 || info.u.val_size == 0 || info.u.val_size > (1u << 16)) {
    return "?";
  }
  std::vector<char> value(info.u.val_size);
  const char* target_file = nullptr;
  const char* target_object = nullptr;
  if (H5Lget_val(file, path.c_str(), value.data(), value.size(), H5P_DEFAULT) < 0 ||
      H5Lunpack_elink_val(value.data(), value.size(), nullptr, &target_file, &target_object) < 0) {
    return "?";
  }
  return std::string(target_file ? target_file : "?") + ":" + (target_object ? target_object : "?");
}

}  // namespace

std::mutex& library_lock() {
  static std::mutex lock;
  return lock;
}

void Handle::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE:
      H5Fclose(id_);
      break;
    case H5I_GROUP:
      H5Gclose(id_);
      break;
    case H5I_DATASET:
      H5Dclose(id_);
      break;
    case H5I_ATTR:
      H5Aclose(id_);
      break;
    case H5I_DATATYPE:
      H5Tclose(id_);
      break;
    case H5I_DATASPACE:
      H5Sclose(id_);
      break;
    case H5I_GENPROP_LST:
      H5Pclose(id_);
      break;
    default:
      H5Oclose(id_);
      break;
  }
  id_ = H5I_INVALID_HID;
}

File File::open_read(const std::filesystem::path& path, const std::string& shown_as) {
  quiet_hdf5();
  File file;
  file.path_ = shown_as.empty() ? path : std::filesystem::path(shown_as);
  if (H5Fis_hdf5(path.c_str()) <= 0) fail(quoted(path.string()), ": not an HDF5 file");
  Handle access(checked_read_access());
  if (!access.valid()) fail("cannot set up reading HDF5 files");
  file.handle_ = Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, access.get()));
  if (!file.handle_.valid()) fail(quoted(path.string()), ": cannot open the HDF5 file");
  file.for_reading_ = true;
  std::error_code error;
  file.span_ = {0, static_cast<std::uint64_t>(std::filesystem::file_size(path, error))};
  if (error) fail(quoted(path.string()), ": cannot open the HDF5 file");
  return file;
}

bool has_signature(const std::filesystem::path& path, const FileSpan& span) {
  static const unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  unsigned char head[8] = {};
  const FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  return file.valid() && span.size >= sizeof head && read_exactly(file.get(), span.offset, sizeof head, head) &&
         std::memcmp(head, kSignature, sizeof head) == 0;
}

File File::open_read_at(const std::filesystem::path& path, const FileSpan& span, const std::string& shown_as) {
  quiet_hdf5();
  File file;
  file.path_ = shown_as;
  file.span_ = span;
  // H5Fis_hdf5 would look at the start of the whole file.
  if (!has_signature(path, span)) fail(quoted(shown_as), ": not an HDF5 file");
  Handle access(checked_read_access(span));
  if (!access.valid()) fail("cannot set up reading HDF5 files");
  file.handle_ = Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, access.get()));
  if (!file.handle_.valid()) fail(quoted(shown_as), ": cannot open the HDF5 file");
  file.for_reading_ = true;
  return file;
}

int File::descriptor() const {
  void* handle = nullptr;
  if (H5Fget_vfd_handle(handle_.get(), H5P_DEFAULT, &handle) < 0 || handle == nullptr) {
    fail(quoted(path_.string()), ": cannot read the HDF5 file");
  }
  return *static_cast<int*>(handle);
}

File File::create(const std::filesystem::path& path, std::uint64_t user_block) {
  quiet_hdf5();
  File file;
  file.path_ = path;
  Handle creation(H5Pcreate(H5P_FILE_CREATE));
  if (!creation.valid() || (user_block != 0 && H5Pset_userblock(creation.get(), user_block) < 0)) {
    fail("cannot create ", quoted(path.string()));
  }
  file.handle_ = Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, creation.get(), H5P_DEFAULT));
  if (!file.handle_.valid()) fail("cannot create ", quoted(path.string()));
  return file;
}

const AttributeWalk* File::attribute_walk() const {
  if (!for_reading_ || !handle_.valid()) return nullptr;
  if (!walked_) {
    walked_ = true;
    std::string why;
    auto walk = walk_attributes(handle_.get(), why);
    // A crash, hang or exhaustion there is the file's damage: reported
    // here, once, rather than by each object's own child again (a hang
    // would cost its time limit twice).
    if (!walk && !why.empty()) {
      fail(quoted(path_.string()),
           ": cannot read the attributes of its objects (a damaged file? the HDF5 library failed on them: ", why, ")");
    }
    if (walk) walk_ = std::make_shared<const AttributeWalk>(std::move(*walk));
  }
  return walk_.get();
}

void File::close() {
  if (!handle_.valid()) return;
  const hid_t id = handle_.get();
  const bool flushed = H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0;
  handle_ = Handle();  // H5Fclose
  if (!flushed) fail("cannot write ", quoted(path_.string()));
}

// Walks every object of the file iteratively, each once (a recursive walk,
// H5Lvisit's included, would let a deep chain of groups exhaust the stack).
// Keras never writes external links, external raw storage or virtual
// datasets; H5Ocopy would follow them, or the part would keep them, and
// bytes from outside the model's folder would end up in a part. Soft links
// stay inside the file and are fine.
void refuse_outside_references(const File& file) {
  constexpr std::size_t kMaxObjects = std::size_t{1} << 22;
  // H5Ocopy recurses through groups inside libhdf5: deeper nesting than
  // Keras writes (a few levels per nested model) is refused here.
  constexpr std::size_t kMaxGroupDepth = 200;
  std::set<haddr_t> seen;
  std::vector<std::pair<std::string, std::size_t>> pending{{"", 0}};
  while (!pending.empty()) {
    const auto [group_path, depth] = std::move(pending.back());
    pending.pop_back();
    if (depth > kMaxGroupDepth) fail(where(file, group_path), ": groups nested more than ", kMaxGroupDepth, " deep");
    Handle group(H5Gopen2(file.id(), object_path(group_path), H5P_DEFAULT));
    std::vector<Link> links;
    if (!group.valid() || !list_links(group.get(), links)) fail(where(file, group_path), ": cannot list the group");
    for (const Link& link : links) {
      const std::string path = group_path.empty() ? link.name : group_path + "/" + link.name;
      if (link.type == H5L_TYPE_SOFT) continue;
      if (link.type == H5L_TYPE_EXTERNAL) {
        fail(where(file, path), ": an external link to ", quoted(external_target(file.id(), path)),
             "; modelcut reads nothing outside the model file");
      }
      if (link.type != H5L_TYPE_HARD)
        fail(where(file, path), ": a user-defined link; modelcut reads only hard and soft links");
      H5O_info_t info;
      if (H5Oget_info_by_name2(file.id(), path.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
        fail(where(file, path), ": cannot read the object");
      }
      if (!seen.insert(info.addr).second) continue;
      if (seen.size() > kMaxObjects) fail(where(file, ""), ": more than ", kMaxObjects, " objects in the file");
      if (info.type == H5O_TYPE_GROUP) {
        pending.emplace_back(path, depth + 1);
      } else if (info.type == H5O_TYPE_DATASET) {
        Handle dataset(H5Dopen2(file.id(), path.c_str(), H5P_DEFAULT));
        Handle creation(dataset.valid() ? H5Dget_create_plist(dataset.get()) : H5I_INVALID_HID);
        if (!creation.valid()) fail(where(file, path), ": cannot read the dataset");
        if (H5Pget_layout(creation.get()) == H5D_VIRTUAL) {
          fail(where(file, path),
               ": a virtual dataset (its data is in other files); modelcut reads nothing "
               "outside the model file");
        }
        if (H5Pget_external_count(creation.get()) > 0) {
          fail(where(file, path),
               ": a dataset stored in external files; modelcut reads nothing outside the "
               "model file");
        }
      }
    }
  }
}

bool exists(const File& file, const std::string& path) {
  if (path.empty() || path == "/") return true;
  std::size_t end = 0;
  while (end != std::string::npos) {
    end = path.find('/', end + 1);
    const std::string prefix = path.substr(0, end);
    if (H5Lexists(file.id(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

bool is_group(const File& file, const std::string& path) { return object_type(file, path) == H5I_GROUP; }

bool is_dataset(const File& file, const std::string& path) { return object_type(file, path) == H5I_DATASET; }

// No exception may cross the C callback, hence a result rather than fail().
bool list_links(hid_t group, std::vector<Link>& links) {
  auto collect = [](hid_t, const char* name, const H5L_info_t* info, void* data) -> herr_t {
    static_cast<std::vector<Link>*>(data)->push_back({name, info->type});
    return 0;
  };
  hsize_t index = 0;
  return H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, collect, &links) >= 0;
}

std::vector<std::string> children(const File& file, const std::string& group) {
  Handle handle(H5Gopen2(file.id(), object_path(group), H5P_DEFAULT));
  if (!handle.valid()) fail(where(file, group), ": not a group");
  std::vector<std::string> names;
  auto collect = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  hsize_t index = 0;
  if (H5Literate(handle.get(), H5_INDEX_NAME, H5_ITER_INC, &index, collect, &names) < 0) {
    fail(where(file, group), ": cannot list the group");
  }
  return names;
}

std::vector<std::string> datasets_below(const File& file, const std::string& group) {
  // Iterative, each object once by address: the depth of groups is the
  // file's to choose, and links may form cycles.
  constexpr std::size_t kMaxObjects = std::size_t{1} << 22;
  std::vector<std::string> datasets;
  std::set<haddr_t> seen;
  std::vector<std::string> pending{group};
  while (!pending.empty()) {
    const std::string current = std::move(pending.back());
    pending.pop_back();
    for (const std::string& name : children(file, current)) {
      const std::string path = current.empty() ? name : current + "/" + name;
      H5O_info_t info;
      if (H5Oget_info_by_name2(file.id(), path.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) continue;
      if (!seen.insert(info.addr).second) continue;
      if (seen.size() > kMaxObjects) fail(where(file, group), ": more than ", kMaxObjects, " objects below the group");
      if (info.type == H5O_TYPE_DATASET) datasets.push_back(path);
      if (info.type == H5O_TYPE_GROUP) pending.push_back(path);
    }
  }
  std::sort(datasets.begin(), datasets.end());
  return datasets;
}

std::size_t count_datasets(const File& file, const std::string& group) { return datasets_below(file, group).size(); }

std::optional<std::uint64_t> dataset_bytes(const File& file, const std::string& path) {
  Handle dataset(H5Dopen2(file.id(), object_path(path), H5P_DEFAULT));
  if (!dataset.valid()) return std::nullopt;
  Handle space(H5Dget_space(dataset.get()));
  Handle type(H5Dget_type(dataset.get()));
  if (!space.valid() || !type.valid()) return std::nullopt;
  const H5S_class_t kind = H5Sget_simple_extent_type(space.get());
  if (kind == H5S_NULL) return 0;
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > H5S_MAX_RANK) return std::nullopt;
  hsize_t dims[H5S_MAX_RANK];
  if (H5Sget_simple_extent_dims(space.get(), dims, nullptr) != rank) return std::nullopt;
  // The file states the dims; their product is checked rather than trusted
  // to HDF5's own count.
  std::uint64_t bytes = H5Tget_size(type.get());
  if (bytes == 0) return std::nullopt;
  for (int axis = 0; axis < rank; ++axis) {
    std::uint64_t next = 0;
    if (__builtin_mul_overflow(bytes, static_cast<std::uint64_t>(dims[axis]), &next)) return std::nullopt;
    bytes = next;
  }
  return bytes;
}

// NB: libhdf5 1.10.8 decodes every attribute message of an object header
// to answer H5Aexists or H5Aopen, and copies from wherever a damaged
// message's sizes point (tests/fuzz/regressions/fuzz_h5/hdf5-attribute-*).
// The walk runs first in a child forked from this process: the parent
// decodes the same bytes of the read-only file the same way, so it does so
// only once a child has come through. The file's one walk covers every
// object reachable by hard links; any other gets a fork of its own.
void check_attribute_messages(const File& file, const std::string& object, hid_t target) {
  if (const AttributeWalk* walk = file.attribute_walk()) {
    if (walk->objects.count(address_of(target)) != 0) return;
  }
  std::string why;
  const auto walked = call_isolated(
      [&]() -> std::optional<std::string> {
        hsize_t position = 0;
        const H5A_operator2_t visit = [](hid_t, const char*, const H5A_info_t*, void*) -> herr_t { return 0; };
        if (H5Aiterate2(target, H5_INDEX_NAME, H5_ITER_NATIVE, &position, visit, nullptr) < 0) return std::nullopt;
        return std::string();
      },
      why);
  if (!walked && !why.empty()) {
    fail(where(file, object), ": cannot read its attributes (a damaged file? the HDF5 library failed on them: ", why,
         ")");
  }
}

std::optional<std::string> read_string_attribute(const File& file, const std::string& object, const std::string& name) {
  if (!exists(file, object)) return std::nullopt;
  Handle target = open_object(file, object);
  check_attribute_messages(file, object, target.get());
  if (H5Aexists(target.get(), name.c_str()) <= 0) return std::nullopt;
  Handle attribute(H5Aopen(target.get(), name.c_str(), H5P_DEFAULT));
  const auto strings = read_strings(file, object, address_of(target.get()), name, attribute.get());
  if (strings.size() != 1) fail(where(file, object), ": attribute ", quoted(name), " is not one string");
  return strings.front();
}

std::optional<std::vector<std::string>> read_string_list_attribute(const File& file, const std::string& object,
                                                                   const std::string& name) {
  if (!exists(file, object)) return std::nullopt;
  Handle target = open_object(file, object);
  check_attribute_messages(file, object, target.get());
  const haddr_t address = address_of(target.get());
  auto read_one = [&](const std::string& attribute_name) -> std::optional<std::vector<std::string>> {
    if (H5Aexists(target.get(), attribute_name.c_str()) <= 0) return std::nullopt;
    Handle attribute(H5Aopen(target.get(), attribute_name.c_str(), H5P_DEFAULT));
    return read_strings(file, object, address, attribute_name, attribute.get());
  };
  if (auto whole = read_one(name)) return whole;
  std::optional<std::vector<std::string>> chunks;
  for (int chunk = 0;; ++chunk) {
    auto part = read_one(name + std::to_string(chunk));
    if (!part) break;
    if (!chunks) chunks.emplace();
    chunks->insert(chunks->end(), part->begin(), part->end());
  }
  return chunks;
}

void create_group(File& file, const std::string& path) {
  if (exists(file, path)) return;
  Handle properties(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(properties.get(), 1);
  Handle group(H5Gcreate2(file.id(), path.c_str(), properties.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!group.valid()) fail(where(file, path), ": cannot create the group");
}

void write_string_attribute(File& file, const std::string& object, const std::string& name, const std::string& value) {
  write_strings(file, object, name, {value}, true);
}

void write_string_list_attribute(File& file, const std::string& object, const std::string& name,
                                 const std::vector<std::string>& values) {
  write_strings(file, object, name, values, false);
}

// NB: H5Ocopy decodes every header message of the objects it copies, and
// libhdf5 1.10.8 trusts them: a damaged datatype message makes it read
// through a null pointer while closing the half-decoded type
// (tests/fuzz/regressions/fuzz_keras/weights-copy-datatype-segv.keras).
// So each copy is first made in a child forked from this process, into a
// throwaway in-memory file, one object at a time so that memory stays at
// the largest object's; the parent copies the same bytes the same way only
// once the child has come through. One child checks a whole list.
void check_copies(const File& source, const std::vector<std::string>& source_paths) {
  if (source_paths.empty()) return;
  std::string why;
  const auto failed = call_isolated(
      [&]() -> std::optional<std::string> {
        for (std::size_t index = 0; index < source_paths.size(); ++index) {
          Handle access(H5Pcreate(H5P_FILE_ACCESS));
          H5Pset_fapl_core(access.get(), std::size_t{1} << 20, /*backing_store=*/0);
          const hid_t scratch = H5Fcreate("modelcut-copy-check", H5F_ACC_TRUNC, H5P_DEFAULT, access.get());
          if (scratch < 0) return std::nullopt;
          const herr_t copied =
              H5Ocopy(source.id(), object_path(source_paths[index]), scratch, "copy", H5P_DEFAULT, H5P_DEFAULT);
          H5Fclose(scratch);
          if (copied < 0) return std::to_string(index);
        }
        return std::string();
      },
      why, IsolationLimits{std::chrono::milliseconds(60000)});
  if (!failed) {
    fail(where(source, source_paths.front()), source_paths.size() > 1 ? " (or a weight after it)" : "",
         ": cannot copy its weights (a damaged file?", why.empty() ? "" : " the HDF5 library failed on them: " + why,
         ")");
  }
  if (!failed->empty()) {
    fail("cannot copy ", where(source, source_paths[std::stoul(*failed)]), " (a damaged file?)");
  }
}

void copy_object(const File& source, const std::string& source_path, File& target, const std::string& target_path) {
  Handle properties(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(properties.get(), 1);
  if (H5Ocopy(source.id(), object_path(source_path), target.id(), target_path.c_str(), H5P_DEFAULT, properties.get()) <
      0) {
    fail("cannot copy ", where(source, source_path), " to ", where(target, target_path));
  }
}

}  // namespace modelcut::keras::h5
