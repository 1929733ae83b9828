// The model tests' fixture: one embedded store in a fresh directory, two ObjectDb clients on it
// (two nodes: db_ and db2_, each with the model's indices declared), and a control loop the test
// spins until an answer comes.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "base/clock.h"
#include "db/embedded.h"
#include "db/objectdb.h"
#include "io/control_loop.h"
#include "model/common.h"

namespace vlcp::model::testing {

class StoreTest : public ::testing::Test {
 protected:
  explicit StoreTest(std::string name) : name_(std::move(name)) {}
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vlcp-" + name_ + "-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = db::EmbeddedStore::open(loop_, db::EmbeddedOptions{(dir_ / "db").string(), 64, true});
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(*s);
    db_ = std::make_unique<db::ObjectDb>(loop_, *store_);
    db2_ = std::make_unique<db::ObjectDb>(loop_, *store_);
    declare_indices(*db_);
    declare_indices(*db2_);
  }
  void TearDown() override {
    db2_.reset();
    db_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Runs the loop until `until` holds (at most `limit`).
  bool spin(const std::function<bool()>& until, std::chrono::seconds limit = std::chrono::seconds(30)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!until() && std::chrono::steady_clock::now() < deadline)
      if (!loop_.run_pending()) std::this_thread::sleep_for(std::chrono::microseconds(100));
    return until();
  }
  // Runs one call to completion: its answer, or kTimeout.
  template <class T>
  Result<T> wait(const std::function<void(std::function<void(Result<T>)>)>& fn,
                 std::chrono::seconds limit = std::chrono::seconds(30)) {
    std::optional<Result<T>> r;
    fn([&](Result<T> x) { r = std::move(x); });
    spin([&] { return r.has_value(); }, limit);
    return r ? std::move(*r) : Result<T>(make_error(Errc::kTimeout, "no answer"));
  }

  std::string name_;
  std::filesystem::path dir_;
  RealClock clock_;
  io::ControlLoop loop_{clock_};
  std::unique_ptr<db::EmbeddedStore> store_;
  std::unique_ptr<db::ObjectDb> db_, db2_;
};

}  // namespace vlcp::model::testing
