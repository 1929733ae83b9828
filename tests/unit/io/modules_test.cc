// Modules load in dependency order, unload their dependents first, and come back together.
#include "io/modules.h"

#include <gtest/gtest.h>

namespace vlcp::io {
namespace {

struct Fake : Module {
  Fake(std::string n, std::vector<std::string> d, std::vector<std::string>* log, bool fail = false,
       bool unloadable = true)
      : n_(std::move(n)), d_(std::move(d)), log_(log), fail_(fail), unloadable_(unloadable) {}
  std::string name() const override { return n_; }
  std::vector<std::string> dependencies() const override { return d_; }
  Status init() override {
    log_->push_back("init " + n_);
    return {};
  }
  Status start() override {
    if (fail_) return make_error(Errc::kUnavailable, "port in use");
    log_->push_back("start " + n_);
    return {};
  }
  void stop() override { log_->push_back("stop " + n_); }
  bool unloadable() const override { return unloadable_; }
  std::string n_;
  std::vector<std::string> d_;
  std::vector<std::string>* log_;
  bool fail_, unloadable_;
};

TEST(Modules, LoadInDependencyOrderUnloadDependentsFirst) {
  std::vector<std::string> log;
  ModuleManager m;
  m.declare(std::make_unique<Fake>("metrics", std::vector<std::string>{"openflow", "ovsdb"}, &log));
  m.declare(std::make_unique<Fake>("openflow", std::vector<std::string>{"sched"}, &log));
  m.declare(std::make_unique<Fake>("sched", std::vector<std::string>{}, &log, false, false));
  m.declare(std::make_unique<Fake>("ovsdb", std::vector<std::string>{"sched"}, &log));
  ASSERT_TRUE(m.load_all().ok());
  EXPECT_EQ(log, (std::vector<std::string>{"init sched", "start sched", "init openflow", "start openflow",
                                           "init ovsdb", "start ovsdb", "init metrics", "start metrics"}));
  log.clear();
  auto stopped = m.unload("openflow");
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(*stopped, (std::vector<std::string>{"metrics", "openflow"}));
  EXPECT_EQ(log, (std::vector<std::string>{"stop metrics", "stop openflow"}));
  EXPECT_TRUE(m.running("ovsdb"));
  EXPECT_FALSE(m.running("metrics"));
  log.clear();
  ASSERT_TRUE(m.load("openflow").ok());  // brings metrics back with it
  EXPECT_TRUE(m.running("metrics"));
  EXPECT_EQ(log.back(), "start metrics");
  auto sched = m.unload("sched");
  ASSERT_FALSE(sched.ok());
  EXPECT_EQ(sched.error().code(), Errc::kUnsupported);
  EXPECT_FALSE(m.unload("nope").ok());
}

TEST(Modules, ACycleOrAMissingDependencyIsNamed) {
  std::vector<std::string> log;
  ModuleManager m;
  m.declare(std::make_unique<Fake>("a", std::vector<std::string>{"b"}, &log));
  m.declare(std::make_unique<Fake>("b", std::vector<std::string>{"a"}, &log));
  auto s = m.load_all();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cycle"), std::string::npos);
  ModuleManager n;
  n.declare(std::make_unique<Fake>("a", std::vector<std::string>{"ghost"}, &log));
  auto t = n.load_all();
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.message().find("unknown module ghost"), std::string::npos);
}

TEST(Modules, AFailedStartStopsWhatStartedAndNamesTheModule) {
  std::vector<std::string> log;
  ModuleManager m;
  m.declare(std::make_unique<Fake>("sched", std::vector<std::string>{}, &log));
  m.declare(std::make_unique<Fake>("http", std::vector<std::string>{"sched"}, &log, true));
  auto s = m.load_all();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("module http"), std::string::npos);
  EXPECT_NE(s.message().find("port in use"), std::string::npos);
  EXPECT_FALSE(m.running("sched"));
  auto infos = m.modules();
  EXPECT_EQ(infos[1].state, ModuleState::kFailed);
  EXPECT_EQ(infos[1].error, "port in use");
}

}  // namespace
}  // namespace vlcp::io
