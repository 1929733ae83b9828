// Flow tables requested by name: VLCP's requests number as VLCP numbers them (the same apps
// always the same numbers, ancestors first), paths get their default successors, and bad
// requests are refused with the reason.
#include "pipeline/tables.h"

#include <gtest/gtest.h>

namespace vlcp::pipeline {
namespace {

TableMap tables_of(const std::vector<std::string>& apps) {
  auto requests = requests_of(apps);
  EXPECT_TRUE(requests.ok()) << requests.status().to_string();
  auto map = allocate(*requests);
  EXPECT_TRUE(map.ok()) << map.status().to_string();
  return map.ok() ? *map : TableMap{};
}

std::vector<std::string> names(const TableMap& m) {
  std::vector<std::string> out;
  for (const auto& t : m.tables) out.push_back(t.name);
  return out;
}

TEST(Tables, VlcpsL2PipelineNumbersAsVlcpDoes) {
  TableMap m = tables_of({"ioprocessing", "l2switch", "vxlancast"});
  EXPECT_EQ(names(m), (std::vector<std::string>{"ingress", "l2input", "vxlaninput", "l3input", "l2output",
                                                "l2learning", "vxlanoutput", "vxlanlearning", "egress"}));
  EXPECT_EQ(m.id("l2output"), 4);  // "l2output is always 4" in VLCP's L2 configuration
  // The main path goes on table by table; the learning tables are side paths of one table.
  EXPECT_EQ(m.next_in_path(*m.id("ingress")), m.id("l2input"));
  EXPECT_EQ(m.next_in_path(*m.id("l2output")), m.id("vxlanoutput"));
  EXPECT_EQ(m.next_in_path(*m.id("vxlanoutput")), m.id("egress"));
  EXPECT_EQ(m.next_in_path(*m.id("egress")), std::nullopt);
  EXPECT_EQ(m.next_in_path(*m.id("l2learning")), std::nullopt);
  EXPECT_EQ(m.paths.at("l2learning").size(), 1u);
}

TEST(Tables, VlcpsFullL3PipelineKeepsEveryAncestorFirst) {
  std::vector<std::string> apps = {"ioprocessing", "l2switch",      "vxlancast", "arpresponder",
                                   "dhcpserver",   "icmpresponder", "l3router"};
  TableMap m = tables_of(apps);
  EXPECT_EQ(names(m), (std::vector<std::string>{"ingress", "l2input", "vxlaninput", "arp", "l3input",
                                                "l3router", "l3output", "l2output", "l2learning",
                                                "vxlanoutput", "vxlanlearning", "egress"}));
  auto requests = requests_of(apps);
  ASSERT_TRUE(requests.ok());
  for (const auto& r : *requests)
    for (const auto& a : r.ancestors) EXPECT_LT(*m.id(a), *m.id(r.table)) << a << " before " << r.table;
  EXPECT_EQ(names(tables_of(apps)), names(m)) << "the same apps, the same numbers";
  // VLCP's answer shape: [[[name, id], ...], {path: [[name, id], ...]}].
  nlohmann::json j = m.to_json();
  EXPECT_EQ(j[0][0], nlohmann::json::array({"ingress", 0}));
  EXPECT_EQ(j[1]["router"], nlohmann::json::parse(R"([["l3router", 5]])"));
  EXPECT_EQ(j[1][""].size(), 8u);
}

TEST(Tables, BadRequestsAreRefusedWithTheReason) {
  auto refused = [](std::vector<TableRequest> r, const char* why) {
    auto m = allocate(r);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.status().message().find(why), std::string::npos) << m.status().message();
  };
  refused({{"a", "t1", "", {"t2"}}, {"a", "t2", "", {"t1"}}}, "cycle");
  refused({{"a", "t1", "", {}}, {"b", "t1", "side", {}}}, "on path");
  refused({{"a", "t1", "", {"nowhere"}}}, "no app requests");
  std::vector<TableRequest> many;
  for (int i = 0; i < 256; ++i) many.push_back({"a", "t" + std::to_string(i), "", {}});
  refused(many, "255");
  EXPECT_FALSE(requests_of({"ioprocessing", "nosuchapp"}).ok());
}

}  // namespace
}  // namespace vlcp::pipeline
