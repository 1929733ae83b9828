// A node's model on a real ObjectDB (the embedded store in a temporary directory) for the apps'
// tests: the store, ObjectDB with the model's indices, ViperFlow to change the model through,
// and a loop driven until a condition holds (`pump()` adds what else a test drives each turn).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "db/embedded.h"
#include "io/control_loop.h"
#include "model/viperflow.h"

namespace vlcp::apps::testing {

// How many of `flows` (printed) hold every one of `parts`.
inline size_t count_holding(const std::vector<std::string>& flows, std::initializer_list<std::string> parts) {
  size_t n = 0;
  for (const auto& f : flows) {
    bool all = true;
    for (const auto& p : parts) all &= f.find(p) != std::string::npos;
    n += all;
  }
  return n;
}

class ModelFixture : public ::testing::Test {
 protected:
  using Json = nlohmann::json;
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vlcp-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
            std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    auto s = db::EmbeddedStore::open(loop_, db::EmbeddedOptions{(dir_ / "db").string(), 64, false});
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(*s);
    db_ = std::make_unique<db::ObjectDb>(loop_, *store_);
    model::declare_indices(*db_);
    vf_ = std::make_unique<model::ViperFlow>(*db_);
  }
  void TearDown() override {
    release();
    vf_.reset();
    db_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  virtual void release() {}  // what the test holds on the database goes first
  virtual void pump() {}
  // The control loop's `after`, as apps and the model view take it.
  std::function<void(std::chrono::milliseconds, std::function<void()>)> after() {
    return [this](std::chrono::milliseconds d, std::function<void()> fn) { loop_.after(d, std::move(fn)); };
  }
  template <typename Pred>
  bool run_until(Pred done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      pump();
      if (!loop_.run_pending()) std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return done();
  }
  // Writes one key as it is (what another node, or a hand, puts in the store), and waits.
  void put(const std::string& key, std::optional<Json> value) {
    bool done = false;
    db_->transact(
        {key},
        [key, value](const auto&, const auto&, int64_t) {
          return Result<std::vector<std::pair<std::string, std::optional<Json>>>>({{key, value}});
        },
        [&](Result<db::TxnResult> r) {
          ASSERT_TRUE(r.ok());
          done = true;
        });
    run_until([&] { return done; });
  }
  Result<Json> call(std::function<void(model::ViperFlow&, model::Done)> fn) {
    std::optional<Result<Json>> r;
    fn(*vf_, [&](Result<Json> x) { r = std::move(x); });
    run_until([&] { return r.has_value(); });
    return r ? std::move(*r) : Result<Json>(make_error(Errc::kTimeout, "no answer"));
  }

  std::filesystem::path dir_;
  RealClock clock_;
  io::ControlLoop loop_{clock_};
  std::unique_ptr<db::EmbeddedStore> store_;
  std::unique_ptr<db::ObjectDb> db_;
  std::unique_ptr<model::ViperFlow> vf_;
};

}  // namespace vlcp::apps::testing
