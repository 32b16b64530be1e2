// The attribute messages of every object of an HDF5 file read for input,
// walked once in an isolated child (isolated_call.h) that also reads every
// variable-length string attribute: one fork per file, where checking each
// object and reading each string in a child of its own cost hundreds.
#pragma once

#include <hdf5.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace modelcut::keras::h5 {

struct AttributeWalk {
  // Objects (by header address) whose attribute messages libhdf5 decoded,
  // all of them, without crashing, hanging or running out of memory.
  std::set<haddr_t> objects;
  // Variable-length string attributes that libhdf5 read in the child, by
  // object address and attribute name; one read there that failed cleanly
  // (or a count beyond kMaxWalkedStrings) leaves its attribute out.
  std::map<std::pair<haddr_t, std::string>, std::vector<std::string>> strings;
};

// Walks the objects reachable from the root of `file` by hard links, each
// once, in a child. std::nullopt with `why` set: libhdf5 crashed, hung or ran
// out of memory there (or the result was too large), so the file is damaged.
// std::nullopt with `why` empty: libhdf5 failed cleanly on some object; the
// caller then checks objects one by one as it reaches them.
std::optional<AttributeWalk> walk_attributes(hid_t file, std::string& why);

}  // namespace modelcut::keras::h5
