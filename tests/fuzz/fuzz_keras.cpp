// libFuzzer target: the Keras reader on a Keras 3 ".keras" zip archive
// (config.json, metadata.json, model.weights.h5), through inspect_model and
// the pipeline walk of fuzz_support.h. The reader needs a file path, so the
// input is written to the process's scratch folder; whatever the outcome,
// nothing else may be left there.
//
// The mutator knows the container: most mutations change one member
// (config.json more often than the others) and write the archive again, so
// that sizes, offsets and checksums stay right and the mutated JSON or HDF5
// reaches the reader; the rest mutate the archive's bytes as they are.
// Parts of a model that opens are written too (the weights copied raw into
// the part's archive), then removed.
#include <zip.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "formats/source_model.h"
#include "fuzz_support.h"
#include "modelcut/error.h"
#include "modelcut/resolve.h"

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace {

using Members = std::vector<std::pair<std::string, std::string>>;  // (name, content) in archive order

std::optional<Members> read_members(const std::uint8_t* data, std::size_t size) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(data, size, 0, &error);
  if (source == nullptr) return std::nullopt;
  zip_t* archive = zip_open_from_source(source, ZIP_RDONLY, &error);
  if (archive == nullptr) {
    zip_source_free(source);
    return std::nullopt;
  }
  Members members;
  const zip_int64_t count = zip_get_num_entries(archive, 0);
  for (zip_int64_t index = 0; index < count; ++index) {
    zip_stat_t stat;
    zip_file_t* file = nullptr;
    if (zip_stat_index(archive, index, 0, &stat) != 0 || !(stat.valid & ZIP_STAT_SIZE) || stat.size > size ||
        (file = zip_fopen_index(archive, index, 0)) == nullptr) {
      zip_discard(archive);
      return std::nullopt;
    }
    std::string content(stat.size, '\0');
    const zip_int64_t got = zip_fread(file, content.data(), stat.size);
    zip_fclose(file);
    if (got != static_cast<zip_int64_t>(stat.size)) {
      zip_discard(archive);
      return std::nullopt;
    }
    members.emplace_back(stat.name, std::move(content));
  }
  zip_discard(archive);
  return members;
}

// The members as a stored (uncompressed) archive, as Keras writes it.
std::optional<std::string> write_members(const Members& members) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  if (buffer == nullptr) return std::nullopt;
  zip_source_keep(buffer);
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  bool ok = archive != nullptr;
  for (const auto& [name, content] : members) {
    if (!ok) break;
    zip_source_t* member = zip_source_buffer(archive, content.data(), content.size(), 0);
    const zip_int64_t index = member ? zip_file_add(archive, name.c_str(), member, ZIP_FL_ENC_UTF_8) : -1;
    if (index < 0) {
      zip_source_free(member);
      ok = false;
      break;
    }
    ok = zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0) == 0 &&
         zip_file_set_mtime(archive, static_cast<zip_uint64_t>(index), 0, 0) == 0;
  }
  if (archive != nullptr) {
    if (ok) {
      ok = zip_close(archive) == 0;
      if (!ok) zip_discard(archive);
    } else {
      zip_discard(archive);
    }
  }
  std::optional<std::string> bytes;
  if (ok && zip_source_open(buffer) == 0) {
    std::string out;
    char chunk[1 << 14];
    zip_int64_t got;
    while ((got = zip_source_read(buffer, chunk, sizeof chunk)) > 0) out.append(chunk, static_cast<std::size_t>(got));
    zip_source_close(buffer);
    if (got == 0) bytes = std::move(out);
  }
  zip_source_free(buffer);
  return bytes;
}

}  // namespace

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  std::minstd_rand random(seed);
  std::optional<Members> members;
  if (random() % 5 != 0) members = read_members(data, size);
  if (!members || members->empty()) return LLVMFuzzerMutate(data, size, max_size);

  // config.json three times as often as any other member.
  std::vector<std::size_t> choices;
  for (std::size_t i = 0; i < members->size(); ++i) {
    choices.insert(choices.end(), (*members)[i].first == "config.json" ? 3 : 1, i);
  }
  std::string& content = (*members)[choices[random() % choices.size()]].second;
  const std::size_t room = max_size > size ? max_size - size : 0;
  std::vector<std::uint8_t> buffer(content.begin(), content.end());
  buffer.resize(content.size() + room + 1);
  buffer.resize(LLVMFuzzerMutate(buffer.data(), content.size(), content.size() + room));
  content.assign(buffer.begin(), buffer.end());

  const std::optional<std::string> archive = write_members(*members);
  if (!archive || archive->size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, archive->data(), archive->size());
  return archive->size();
}

namespace {

// Cuts in the middle layer and writes every part next to the input; Error
// is the clean outcome, and nothing may be left behind either way.
void write_parts(const std::filesystem::path& model) {
  using namespace modelcut;
  const std::filesystem::path target = model.parent_path() / "part.keras";
  try {
    const auto source = open_source_model(model, {});
    const Dataflow& dataflow = source->dataflow();
    const LayerIndex layers(dataflow);
    if (layers.layers().empty()) return;
    const CutPoint cut = resolve_cut(dataflow, layers, "layer:" + layers.layers()[layers.layers().size() / 2].name);
    const Partition partition = partition_dataflow(dataflow, {cut});
    for (std::size_t k = 0; k < partition.parts.size(); ++k) {
      source->write_part(partition, k, target, WriteOptions{});
      std::filesystem::remove(target);
    }
  } catch (const Error&) {
  }
  std::error_code error;
  std::filesystem::remove(target, error);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = modelcut::fuzz::write_input(data, size, "model.keras");
  modelcut::fuzz::exercise_pipeline(path);
  write_parts(path);
  modelcut::fuzz::check_nothing_left_behind(path);
  return 0;
}
