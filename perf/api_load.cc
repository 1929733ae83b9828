// api_load: WebAPI load — C connections (keep-alive, one request in flight each) send N requests
// in all, each a fresh `viperflow/createlogicalports` (batch B ports, B=1 uses the single
// form), and report requests/s, ports/s and latency percentiles as JSON.
//   api_load HOST PORT NETWORK SUBNET CONNECTIONS REQUESTS BATCH
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using nlohmann::json;

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: api_load HOST PORT NETWORK SUBNET CONNECTIONS REQUESTS BATCH\n");
    return 2;
  }
  std::string host = argv[1], port = argv[2], network = argv[3], subnet = argv[4];
  int conns = std::stoi(argv[5]), total = std::stoi(argv[6]), batch = std::stoi(argv[7]);
  std::atomic<int> next{0}, errors{0};
  std::mutex mu;
  std::vector<double> lat;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < conns; ++c)
    threads.emplace_back([&, c] {
      asio::io_context ctx;
      beast::tcp_stream stream(ctx);
      asio::ip::tcp::resolver resolver(ctx);
      stream.connect(resolver.resolve(host, port));
      std::vector<double> mine;
      for (int i; (i = next.fetch_add(1)) < total;) {
        json body;
        std::string target;
        if (batch == 1) {
          target = "/viperflow/createlogicalport";
          body = {{"logicalnetwork", network}, {"subnet", subnet}};
        } else {
          target = "/viperflow/createlogicalports";
          json ports = json::array();
          for (int b = 0; b < batch; ++b) ports.push_back({{"logicalnetwork", network}, {"subnet", subnet}});
          body = {{"ports", ports}};
        }
        http::request<http::string_body> req(http::verb::post, target, 11);
        req.set(http::field::host, host);
        req.set(http::field::content_type, "application/json");
        req.keep_alive(true);
        req.body() = body.dump();
        req.prepare_payload();
        auto t0 = std::chrono::steady_clock::now();
        http::write(stream, req);
        beast::flat_buffer buf;
        http::response<http::string_body> res;
        http::read(stream, buf, res);
        mine.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        if (res.result_int() != 200) {
          if (errors.fetch_add(1) < 3) std::fprintf(stderr, "api_load: %s\n", res.body().c_str());
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      lat.insert(lat.end(), mine.begin(), mine.end());
      (void)c;
    });
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))];
  };
  json out{{"connections", conns},
           {"requests", total},
           {"batch", batch},
           {"errors", errors.load()},
           {"requests_per_s", total / secs},
           {"ports_per_s", total * batch / secs},
           {"p50_ms", pct(0.5)},
           {"p99_ms", pct(0.99)}};
  std::printf("%s\n", out.dump().c_str());
  return errors.load() ? 1 : 0;
}
