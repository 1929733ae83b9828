// VLCP's ids for the objects its Docker and CNI plugins make (declared once: the model's
// transactions, the Docker protocol and the plug machine all name them through these).
#pragma once
#include <string>
#include <string_view>

namespace vlcp::schema {

inline std::string docker_lognet_id(std::string_view network_id) {
  return "docker-" + std::string(network_id) + "-lognet";
}
inline std::string docker_subnet_id(std::string_view network_id) {
  return "docker-" + std::string(network_id) + "-subnet";
}
inline std::string docker_port_id(std::string_view endpoint_id) {
  return "docker-" + std::string(endpoint_id);
}
// k8s-<containerid>, and k8s-<containerid>-<ifname> for an interface other than eth0.
inline std::string cni_port_id(std::string_view container_id, std::string_view ifname) {
  std::string id = "k8s-" + std::string(container_id);
  if (!ifname.empty() && ifname != "eth0") id += "-" + std::string(ifname);
  return id;
}

}  // namespace vlcp::schema
