// Runs a libFuzzer target without libFuzzer (g++ builds, sanitizer builds, `make test`): every
// file of the seed corpus, then deterministic mutations of each (bit flips, truncations,
// length-field edits, splices). Usage: <target> CORPUS_DIR [MUTATIONS_PER_SEED]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [MUTATIONS_PER_SEED]\n", argv[0]);
    return 2;
  }
  const int mutations = argc > 2 ? std::atoi(argv[2]) : 2000;
  std::vector<std::vector<uint8_t>> seeds;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    std::ifstream in(entry.path(), std::ios::binary);
    seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "no seeds in %s\n", argv[1]);
    return 1;
  }
  std::mt19937 rng(12345);  // fixed: a failure reproduces
  size_t runs = 0;
  for (const auto& seed : seeds) {
    LLVMFuzzerTestOneInput(seed.data(), seed.size());
    ++runs;
    for (int i = 0; i < mutations; ++i) {
      std::vector<uint8_t> m = seed;
      switch (rng() % 5) {
        case 0:  // flip bits
          for (int k = 0, n = 1 + rng() % 4; k < n && !m.empty(); ++k)
            m[rng() % m.size()] ^= 1u << (rng() % 8);
          break;
        case 1:  // truncate
          if (!m.empty()) m.resize(rng() % m.size());
          break;
        case 2:  // set a byte to a boundary value
          if (!m.empty())
            m[rng() % m.size()] = static_cast<uint8_t>((rng() % 2) ? 0xff : (rng() % 2) ? 0 : 8);
          break;
        case 3: {  // overwrite a 16-bit field (most inner lengths are 16-bit)
          if (m.size() >= 2) {
            size_t at = rng() % (m.size() - 1);
            uint16_t v = static_cast<uint16_t>(rng() % 3 == 0 ? rng() : (rng() % 64));
            m[at] = static_cast<uint8_t>(v >> 8);
            m[at + 1] = static_cast<uint8_t>(v);
          }
          break;
        }
        default: {  // splice with another seed
          const auto& other = seeds[rng() % seeds.size()];
          if (!other.empty() && !m.empty()) {
            size_t cut = rng() % m.size();
            m.resize(cut);
            m.insert(m.end(), other.begin() + static_cast<long>(rng() % other.size()), other.end());
          }
          break;
        }
      }
      LLVMFuzzerTestOneInput(m.data(), m.size());
      ++runs;
    }
  }
  std::printf("replayed %zu inputs from %zu seeds\n", runs, seeds.size());
  return 0;
}
