// One isolated walk over a file's attribute messages (see
// hdf5_attribute_walk.h). The child packs what it found as length-prefixed
// records; the parent unpacks them with every length checked, as it would
// any bytes from a process that read a damaged file.
#include "hdf5_attribute_walk.h"

#include <cstdint>
#include <cstring>

#include "isolated_call.h"

namespace modelcut::keras::h5 {
namespace {

// Far above what Keras writes (a few levels per nested model, a few
// attributes per object, weight-name lists of thousands); a file beyond
// them is walked object by object instead.
constexpr std::size_t kMaxDepth = 200;
constexpr std::size_t kMaxObjects = std::size_t{1} << 22;
constexpr std::size_t kMaxAttributesPerObject = std::size_t{1} << 16;
constexpr hssize_t kMaxWalkedStrings = hssize_t{1} << 22;

constexpr char kObject = 'o';
constexpr char kStrings = 's';

void put_number(std::string& out, std::uint64_t value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

void put_text(std::string& out, const char* text, std::size_t size) {
  put_number(out, size);
  out.append(text, size);
}

// Owns an HDF5 identifier in the child (hdf5_file.h's Handle would pull in
// the whole adapter; the child needs only closing).
struct ChildHandle {
  hid_t id;
  explicit ChildHandle(hid_t value) : id(value) {}
  ~ChildHandle() {
    if (id >= 0) H5Idec_ref(id);
  }
  ChildHandle(const ChildHandle&) = delete;
  ChildHandle& operator=(const ChildHandle&) = delete;
};

// Reads the variable-length strings of one attribute into `out` as a
// kStrings record; leaves anything else (and any clean failure) out.
void pack_strings(hid_t object, haddr_t address, const std::string& name, std::string& out) {
  ChildHandle attribute(H5Aopen(object, name.c_str(), H5P_DEFAULT));
  if (attribute.id < 0) return;
  ChildHandle type(H5Aget_type(attribute.id));
  ChildHandle space(H5Aget_space(attribute.id));
  if (type.id < 0 || space.id < 0 || H5Tget_class(type.id) != H5T_STRING || H5Tis_variable_str(type.id) <= 0) return;
  const hssize_t count = H5Sget_simple_extent_npoints(space.id);
  if (count <= 0 || count > kMaxWalkedStrings) return;
  ChildHandle memory_type(H5Tcopy(H5T_C_S1));
  if (memory_type.id < 0 || H5Tset_cset(memory_type.id, H5Tget_cset(type.id)) < 0 ||
      H5Tset_size(memory_type.id, H5T_VARIABLE) < 0) {
    return;
  }
  // NB: this is the read that follows global heap IDs without checks in
  // libhdf5 1.10.8 (see read_strings in hdf5_file.cpp): why it runs here.
  std::vector<char*> buffer(static_cast<std::size_t>(count), nullptr);
  if (H5Aread(attribute.id, memory_type.id, buffer.data()) < 0) return;
  out.push_back(kStrings);
  put_number(out, address);
  put_text(out, name.data(), name.size());
  put_number(out, static_cast<std::uint64_t>(count));
  for (const char* text : buffer) put_text(out, text ? text : "", text ? std::strlen(text) : 0);
  // The child lives on for the next objects: give the strings back.
  H5Dvlen_reclaim(memory_type.id, space.id, H5P_DEFAULT, buffer.data());
}

// The child's side: nullopt when libhdf5 fails cleanly anywhere.
std::optional<std::string> walk_in_child(hid_t file) {
  std::string out;
  std::set<haddr_t> seen;
  std::vector<std::pair<std::string, std::size_t>> pending{{"/", 0}};
  while (!pending.empty()) {
    const auto [path, depth] = std::move(pending.back());
    pending.pop_back();
    if (depth > kMaxDepth) return std::nullopt;
    ChildHandle object(H5Oopen(file, path.c_str(), H5P_DEFAULT));
    H5O_info_t info;
    if (object.id < 0 || H5Oget_info2(object.id, &info, H5O_INFO_BASIC) < 0) return std::nullopt;
    if (!seen.insert(info.addr).second) continue;
    if (seen.size() > kMaxObjects) return std::nullopt;

    std::vector<std::string> names;
    const H5A_operator2_t collect = [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
      auto& found = *static_cast<std::vector<std::string>*>(data);
      if (found.size() >= kMaxAttributesPerObject) return -1;
      found.emplace_back(name);
      return 0;
    };
    hsize_t position = 0;
    if (H5Aiterate2(object.id, H5_INDEX_NAME, H5_ITER_NATIVE, &position, collect, &names) < 0) return std::nullopt;
    out.push_back(kObject);
    put_number(out, info.addr);
    for (const std::string& name : names) pack_strings(object.id, info.addr, name, out);

    if (info.type != H5O_TYPE_GROUP) continue;
    std::vector<std::string> children;
    const H5L_iterate_t hard_links = [](hid_t, const char* name, const H5L_info_t* link, void* data) -> herr_t {
      if (link->type == H5L_TYPE_HARD) static_cast<std::vector<std::string>*>(data)->emplace_back(name);
      return 0;
    };
    hsize_t index = 0;
    if (H5Literate(object.id, H5_INDEX_NAME, H5_ITER_INC, &index, hard_links, &children) < 0) return std::nullopt;
    for (const std::string& child : children) pending.emplace_back((path == "/" ? "/" : path + "/") + child, depth + 1);
  }
  return out;
}

// Reads a number or a text from `packed` at `position`; false when the bytes
// end first.
bool take_number(const std::string& packed, std::size_t& position, std::uint64_t& value) {
  if (packed.size() - position < sizeof value) return false;
  std::memcpy(&value, packed.data() + position, sizeof value);
  position += sizeof value;
  return true;
}

bool take_text(const std::string& packed, std::size_t& position, std::string& text) {
  std::uint64_t size = 0;
  if (!take_number(packed, position, size) || size > packed.size() - position) return false;
  text.assign(packed.data() + position, static_cast<std::size_t>(size));
  position += static_cast<std::size_t>(size);
  return true;
}

std::optional<AttributeWalk> unpack(const std::string& packed) {
  AttributeWalk walk;
  std::size_t position = 0;
  while (position < packed.size()) {
    const char kind = packed[position++];
    std::uint64_t address = 0;
    if (!take_number(packed, position, address)) return std::nullopt;
    if (kind == kObject) {
      walk.objects.insert(static_cast<haddr_t>(address));
      continue;
    }
    std::string name;
    std::uint64_t count = 0;
    if (kind != kStrings || !take_text(packed, position, name) || !take_number(packed, position, count)) {
      return std::nullopt;
    }
    // Each string takes at least its length's bytes: a count beyond that
    // cannot be honest, and must not size the vector.
    if (count > (packed.size() - position) / sizeof(std::uint64_t)) return std::nullopt;
    std::vector<std::string> strings(static_cast<std::size_t>(count));
    for (std::string& text : strings) {
      if (!take_text(packed, position, text)) return std::nullopt;
    }
    walk.strings[{static_cast<haddr_t>(address), name}] = std::move(strings);
  }
  return walk;
}

}  // namespace

std::optional<AttributeWalk> walk_attributes(hid_t file, std::string& why) {
  const auto packed = call_isolated([&] { return walk_in_child(file); }, why);
  if (!packed) return std::nullopt;
  auto walk = unpack(*packed);
  if (!walk) why = "it returned damaged results";
  return walk;
}

}  // namespace modelcut::keras::h5
