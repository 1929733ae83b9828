// One registered app on a node, as vlcpd runs it: configured through its registration
// (apps/registry.h) from a configuration text, made on the node's model view, alone on the
// platform (AppHost) with a fake switch. The platform's generic tests and an app's own tests
// share it.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "../flows/fake_switch.h"
#include "apps/host.h"
#include "apps/registry.h"
#include "model_fixture.h"

namespace vlcp::apps::testing {

class AppNodeFixture : public ModelFixture {
 protected:
  // App `name` configured from `config_text` (which names the pipeline's modules).
  void configure_app(const std::string& name, const std::string& config_text) {
    auto config = Config::parse(config_text);
    ASSERT_TRUE(config.ok()) << config.status().to_string();
    config_ = std::make_unique<Config>(std::move(*config));
    auto p = pipeline::read_pipeline_settings(*config_);
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    pipeline_ = std::move(*p);
    for (const auto* r : registered_apps())
      if (r->name == name) registration_ = r;
    ASSERT_NE(registration_, nullptr) << "app " << name << " is not registered";
    ASSERT_TRUE(registration_->runs_in(pipeline_));
    auto spec = registration_->configure(*config_, pipeline_);
    ASSERT_TRUE(spec.ok()) << spec.status().to_string();
    spec_ = std::move(*spec);
  }
  void release() override {
    host_.reset();
    app_.reset();
    model_.reset();
  }
  void pump() override { sw_.deliver(); }
  // A node: its model view, the app made through its registration, the platform driving it (again:
  // a restart).
  void start_node() {
    release();
    model_ = std::make_unique<ModelView>(*db_, after());
    app_ = spec_->make(AppEnv{*model_, *db_, pipeline_.tables, after()});
    host_ = std::make_unique<AppHost>(*model_, std::vector<FlowApp*>{app_.get()}, clock_, after());
    host_->set_system_id("me");
    host_->start();
    model_->start();
  }
  // Lets every change through the platform: a round, the switch (dpid 1) in sync.
  void settle(const std::string& step = "") {
    for (int i = 0; i < 50; ++i) {
      sw_.deliver();
      loop_.run_pending();
    }
    ASSERT_TRUE(run_until([&] { return host_->flow_owner(1) && host_->flow_owner(1)->stats().synced; }))
        << step;
  }

  std::unique_ptr<Config> config_;
  pipeline::PipelineSettings pipeline_;
  const AppRegistration* registration_ = nullptr;
  std::shared_ptr<const AppSpec> spec_;
  std::unique_ptr<ModelView> model_;
  std::unique_ptr<FlowApp> app_;
  std::unique_ptr<AppHost> host_;
  flows::FakeSwitch sw_;
};

// Each registered app (the test's parameter) on a node whose pipeline runs every app's tables,
// with the platform's invariant: after each step the app's incremental flows equal its full
// recompute, and the switch holds them.
class EveryAppFixture : public AppNodeFixture, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    AppNodeFixture::SetUp();
    std::string text = "module.openflowmanager.apps = [";
    for (const auto& m : pipeline::known_apps()) text += "'" + m + "', ";
    configure_app(GetParam(), text + "]\n");
  }
  // Settles (the app recomputed, the switch confirmed), then checks the invariant.
  void expect_recompute_baseline(const std::string& step) {
    ASSERT_NO_FATAL_FAILURE(settle(step));
    flows::Desired full;
    for (const auto& [p, d] : app_->compute(*model_, *host_->context(1))) {
      full.flows.insert(d.flows.begin(), d.flows.end());
      full.groups.insert(d.groups.begin(), d.groups.end());
    }
    EXPECT_TRUE(host_->flow_owner(1)->desired(app_->name()) == full)
        << step << ": " << app_->name() << "'s incremental flows differ from its full recompute";
    EXPECT_EQ(sw_.flows, full.flows) << step << ": the switch does not hold the desired flows";
    EXPECT_EQ(sw_.groups.size(), full.groups.size()) << step;
    const flows::FlowOwnerStats& st = host_->flow_owner(1)->stats();
    EXPECT_EQ(st.apps.at(app_->name()).installed_flows, sw_.flows.size()) << step;
    EXPECT_EQ(st.refused, 0u) << step;
    max_flows_ = std::max(max_flows_, full.flows.size());
  }
  size_t max_flows_ = 0;  // the most flows the app had at once
};

}  // namespace vlcp::apps::testing
