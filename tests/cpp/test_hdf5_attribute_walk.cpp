// The one isolated walk over an HDF5 file's attributes: it must reach every
// object once (a hard-link cycle included) and bring back each
// variable-length string attribute as written, so that the readers serve
// them from it instead of forking per object and per string.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "formats/keras/hdf5_attribute_walk.h"
#include "formats/keras/hdf5_file.h"

namespace modelcut::keras {
namespace {

namespace fs = std::filesystem;

haddr_t address(const h5::File& file, const std::string& path) {
  H5O_info_t info;
  EXPECT_GE(H5Oget_info_by_name2(file.id(), path.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT), 0);
  return info.addr;
}

TEST(Hdf5AttributeWalk, ReachesEveryObjectOnceAndReadsItsStrings) {
  const fs::path path = fs::temp_directory_path() / ("modelcut-attribute-walk-" + std::to_string(::getpid()) + ".h5");
  const std::vector<std::string> names = {"kernel:0", "bias:0", ""};
  std::lock_guard<std::mutex> lock(h5::library_lock());
  {
    h5::File file = h5::File::create(path);
    h5::create_group(file, "a/b");
    h5::write_string_attribute(file, "", "backend", "jax");
    h5::write_string_list_attribute(file, "a", "weight_names", names);
    h5::write_string_attribute(file, "a/b", "name", "fc");
    // A cycle back to "a": walked once, by address.
    ASSERT_GE(H5Lcreate_hard(file.id(), "a", file.id(), "a/b/up", H5P_DEFAULT, H5P_DEFAULT), 0);
    EXPECT_EQ(file.attribute_walk(), nullptr);  // a file being written changes: never walked
    file.close();
  }
  const h5::File file = h5::File::open_read(path);
  const h5::AttributeWalk* walk = file.attribute_walk();
  ASSERT_NE(walk, nullptr);
  EXPECT_EQ(walk->objects, (std::set<haddr_t>{address(file, "/"), address(file, "a"), address(file, "a/b")}));
  ASSERT_EQ(walk->strings.size(), 3u);
  EXPECT_EQ(walk->strings.at({address(file, "/"), "backend"}), std::vector<std::string>{"jax"});
  EXPECT_EQ(walk->strings.at({address(file, "a"), "weight_names"}), names);
  EXPECT_EQ(walk->strings.at({address(file, "a/b"), "name"}), std::vector<std::string>{"fc"});
  EXPECT_EQ(file.attribute_walk(), walk);  // walked once per file
  // The readers answer from it, also through the cycle.
  EXPECT_EQ(h5::read_string_list_attribute(file, "a/b/up", "weight_names").value_or(std::vector<std::string>{}), names);
  EXPECT_EQ(h5::read_string_attribute(file, "a/b", "name").value_or(""), "fc");
  EXPECT_FALSE(h5::read_string_attribute(file, "a/b", "absent").has_value());
  fs::remove(path);
}

}  // namespace
}  // namespace modelcut::keras
