// Copying an HDF5 group's structure, leaving its data to raw copies (see
// hdf5_structure_copy.h). The source is walked first, iteratively and
// bounded; nothing is written to the target unless every object qualifies.
#include "hdf5_structure_copy.h"

#include "modelcut/error.h"

namespace modelcut::keras::h5 {
namespace {

// A Keras layer's state is a few groups deep and a few datasets wide;
// beyond these the general copy (H5Ocopy, with its own limits) takes over.
constexpr std::size_t kMaxObjects = 1 << 16;
constexpr std::size_t kMaxDepth = 64;

struct PlannedGroup {
  std::string relative;                                         // "" for the group itself, else "vars", "vars/sub", ...
  std::vector<std::pair<std::string, std::string>> attributes;  // scalar strings
};

struct PlannedDataset {
  std::string relative;
  Handle type, space;
  std::uint64_t offset = 0;  // in the source's HDF5 address space
  std::uint64_t size = 0;
};

std::string joined(const std::string& base, const std::string& name) { return base.empty() ? name : base + "/" + name; }

std::string where(const File& file, const std::string& object) { return quoted(file.path().string() + ":" + object); }

// A scalar variable-length string attribute, as Keras writes "name".
bool is_scalar_string(hid_t attribute) {
  Handle type(H5Aget_type(attribute));
  Handle space(H5Aget_space(attribute));
  return type.valid() && space.valid() && H5Tget_class(type.get()) == H5T_STRING &&
         H5Tis_variable_str(type.get()) > 0 && H5Sget_simple_extent_type(space.get()) == H5S_SCALAR;
}

bool plan_attributes(const File& file, const std::string& path, hid_t object, const std::string& relative,
                     const std::set<std::pair<std::string, std::string>>& left_out,
                     std::vector<std::pair<std::string, std::string>>& out) {
  check_attribute_messages(file, path, object);
  H5O_info_t info;
  if (H5Oget_info2(object, &info, H5O_INFO_NUM_ATTRS) < 0) return false;
  for (hsize_t index = 0; index < info.num_attrs; ++index) {
    char name[256];
    const ssize_t length =
        H5Aget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, index, name, sizeof name, H5P_DEFAULT);
    if (length <= 0 || static_cast<std::size_t>(length) >= sizeof name) return false;
    if (left_out.count({relative, name})) continue;
    Handle attribute(H5Aopen(object, name, H5P_DEFAULT));
    if (!attribute.valid() || !is_scalar_string(attribute.get())) return false;
    attribute = Handle();
    auto value = read_string_attribute(file, path, name);  // read by the file's isolated walk
    if (!value) return false;
    out.emplace_back(name, *value);
  }
  return true;
}

// Contiguous, allocated, unfiltered, no attributes, and a number type
// (no references or variable-length data, whose bytes point into the file).
bool plan_dataset(const File& file, const std::string& path, hid_t dataset, PlannedDataset& out) {
  Handle creation(H5Dget_create_plist(dataset));
  if (!creation.valid() || H5Pget_layout(creation.get()) != H5D_CONTIGUOUS || H5Pget_nfilters(creation.get()) != 0 ||
      H5Pget_external_count(creation.get()) != 0) {
    return false;
  }
  H5O_info_t info;
  if (H5Oget_info2(dataset, &info, H5O_INFO_NUM_ATTRS) < 0 || info.num_attrs != 0) return false;
  out.type = Handle(H5Dget_type(dataset));
  out.space = Handle(H5Dget_space(dataset));
  if (!out.type.valid() || !out.space.valid()) return false;
  const H5T_class_t type_class = H5Tget_class(out.type.get());
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT && type_class != H5T_ENUM && type_class != H5T_BITFIELD) {
    return false;
  }
  if (H5Sget_simple_extent_type(out.space.get()) != H5S_SIMPLE &&
      H5Sget_simple_extent_type(out.space.get()) != H5S_SCALAR) {
    return false;
  }
  const auto bytes = dataset_bytes(file, path);
  if (!bytes) return false;
  out.size = *bytes;
  if (out.size == 0) return true;
  const haddr_t offset = H5Dget_offset(dataset);
  if (offset == HADDR_UNDEF) return false;  // never written: the general copy keeps it so
  if (H5Dget_storage_size(dataset) != out.size) return false;
  // The dataset header states where its data is; it must be inside the
  // file, as a copy would otherwise read whatever lies beyond.
  if (offset > file.span().size || out.size > file.span().size - offset) {
    fail(where(file, path), ": the dataset's data lies outside the file (a damaged file?)");
  }
  out.offset = offset;
  return true;
}

}  // namespace

bool copy_structure(const File& source, const std::string& source_path, File& target, const std::string& target_path,
                    std::vector<RawCopy>& raw, const std::set<std::pair<std::string, std::string>>& left_out) {
  std::vector<PlannedGroup> groups;
  std::vector<PlannedDataset> datasets;
  std::set<haddr_t> seen;
  std::vector<std::pair<std::string, std::size_t>> pending{{"", 0}};
  while (!pending.empty()) {
    const auto [relative, depth] = pending.back();
    pending.pop_back();
    const std::string path = joined(source_path, relative);
    if (depth > kMaxDepth) return false;
    Handle group(H5Gopen2(source.id(), path.c_str(), H5P_DEFAULT));
    if (!group.valid()) return false;
    PlannedGroup planned{relative, {}};
    if (!plan_attributes(source, path, group.get(), relative, left_out, planned.attributes)) return false;
    groups.push_back(std::move(planned));
    std::vector<Link> links;
    if (!list_links(group.get(), links)) return false;
    for (const Link& link : links) {
      if (link.type != H5L_TYPE_HARD) return false;
      const std::string child = joined(relative, link.name);
      const std::string child_path = joined(source_path, child);
      H5O_info_t info;
      if (H5Oget_info_by_name2(source.id(), child_path.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return false;
      if (!seen.insert(info.addr).second || seen.size() > kMaxObjects) return false;  // shared objects: general copy
      if (info.type == H5O_TYPE_GROUP) {
        pending.emplace_back(child, depth + 1);
      } else if (info.type == H5O_TYPE_DATASET) {
        Handle dataset(H5Dopen2(source.id(), child_path.c_str(), H5P_DEFAULT));
        PlannedDataset planned;
        planned.relative = child;
        if (!dataset.valid() || !plan_dataset(source, child_path, dataset.get(), planned)) return false;
        datasets.push_back(std::move(planned));
      } else {
        return false;
      }
    }
  }

  // Without modification times, so that the same part has the same bytes.
  Handle link_creation(H5Pcreate(H5P_LINK_CREATE));
  Handle group_creation(H5Pcreate(H5P_GROUP_CREATE));
  Handle dataset_creation(H5Pcreate(H5P_DATASET_CREATE));
  if (!link_creation.valid() || !group_creation.valid() || !dataset_creation.valid() ||
      H5Pset_create_intermediate_group(link_creation.get(), 1) < 0 ||
      H5Pset_obj_track_times(group_creation.get(), false) < 0 ||
      H5Pset_obj_track_times(dataset_creation.get(), false) < 0 ||
      H5Pset_layout(dataset_creation.get(), H5D_CONTIGUOUS) < 0 ||
      // Space now, so that its offset is known; no fill: the raw copy writes it.
      H5Pset_alloc_time(dataset_creation.get(), H5D_ALLOC_TIME_EARLY) < 0 ||
      H5Pset_fill_time(dataset_creation.get(), H5D_FILL_TIME_NEVER) < 0) {
    fail("cannot write ", quoted(target.path().string()));
  }
  for (const PlannedGroup& group : groups) {
    const std::string path = joined(target_path, group.relative);
    Handle made(H5Gcreate2(target.id(), path.c_str(), link_creation.get(), group_creation.get(), H5P_DEFAULT));
    if (!made.valid()) fail(where(target, path), ": cannot create the group");
    made = Handle();
    for (const auto& [name, value] : group.attributes) write_string_attribute(target, path, name, value);
  }
  for (const PlannedDataset& dataset : datasets) {
    const std::string path = joined(target_path, dataset.relative);
    Handle made(H5Dcreate2(target.id(), path.c_str(), dataset.type.get(), dataset.space.get(), link_creation.get(),
                           dataset_creation.get(), H5P_DEFAULT));
    if (!made.valid()) fail(where(target, path), ": cannot create the dataset");
    if (dataset.size == 0) continue;
    const haddr_t offset = H5Dget_offset(made.get());
    if (offset == HADDR_UNDEF) fail(where(target, path), ": cannot allocate the dataset");
    raw.push_back({source.span().offset + dataset.offset, offset, dataset.size, joined(source_path, dataset.relative)});
  }
  return true;
}

}  // namespace modelcut::keras::h5
