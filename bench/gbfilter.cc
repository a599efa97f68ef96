// mmf_gbfilter: which benchmark names Google Benchmark's --benchmark_filter
// selects, decided by libbenchmark itself.
//
// usage: mmf_gbfilter FILTER < NAMES
//   NAMES: benchmark names, one per line (a row's run_name, e.g.
//   BM_Read/api:bytes/.../rec:4096/iterations:1/real_time).
//   Prints the names FILTER selects, one per line, in input order; exit 0
//   (selecting none is not an error here: the caller counts). With no names
//   it only checks FILTER.
//   Exit 2 with one line on stderr when libbenchmark cannot compile FILTER;
//   exit 1 when the names cannot be read or registered.
//
// Why not Python's re or grep -E: libbenchmark matches with its own engine
// (Debian's 1.7.1: std::regex in the POSIX extended grammar, built as strict
// C++, so '\d' is an invalid escape; a leading '-' negates the filter; ""
// and "all" select everything), and patterns such as '\d', '(?i)x', '+a' or
// '{1}' are judged differently by each engine. Each name is registered as a
// benchmark and the library lists the ones its filter selects
// (--benchmark_list_tests), so the decision is the library's own.
#include <benchmark/benchmark.h>

#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

void noop(benchmark::State& state) {
  for (auto _ : state) {
  }
}

// What libbenchmark writes on stderr when the filter does not compile
// (src/benchmark_register.cc, FindBenchmarks).
const char kBadRegex[] = "Could not compile benchmark re: ";

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || std::string(argv[1]) == "--help") {
    std::cerr << "usage: mmf_gbfilter FILTER < NAMES (one per line): prints the names "
                 "Google Benchmark's --benchmark_filter=FILTER selects\n";
    return 2;
  }
  const std::string filter = argv[1];
  std::set<std::string> seen;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty() || !seen.insert(line).second) continue;
    if (benchmark::RegisterBenchmark(line.c_str(), noop) == nullptr) {
      std::cerr << "mmf_gbfilter: cannot register benchmark '" << line << "'\n";
      return 1;
    }
  }
  if (std::cin.bad()) {
    std::cerr << "mmf_gbfilter: cannot read the names\n";
    return 1;
  }

  std::string list = "--benchmark_list_tests=true";
  std::string spec = "--benchmark_filter=" + filter;
  std::vector<char*> args = {argv[0], &list[0], &spec[0], nullptr};
  int n = 3;
  // The library's messages (a bad filter, "Failed to match any benchmarks")
  // are caught here; only a bad filter is reported, as one line.
  std::ostringstream err;
  std::streambuf* saved = std::cerr.rdbuf(err.rdbuf());
  benchmark::Initialize(&n, args.data());
  benchmark::RunSpecifiedBenchmarks();
  std::cout.flush();
  std::cerr.rdbuf(saved);

  const std::string text = err.str();
  const std::string::size_type at = text.find(kBadRegex);
  if (at != std::string::npos) {
    std::string why = text.substr(at + sizeof kBadRegex - 1);
    why = why.substr(0, why.find('\n'));
    std::cerr << "mmf_gbfilter: '" << filter << "' is not a filter Google Benchmark accepts ("
              << why << ")\n";
    return 2;
  }
  return 0;
}
