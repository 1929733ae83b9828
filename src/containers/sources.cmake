# The containers layer (issue 19, docs/CONTAINERS_DESIGN.md §2, §3, §6.1). Docker's libnetwork
# remote protocol is pure (the method table, decoding, answers, the §2.6 status table, VLCP's
# names) and its own library, base only, so that its fuzz target builds in the libFuzzer tree
# (clang) without the I/O layers; the plug machine, the Docker and CNI servers and the reconcile
# join vlcp_containers as they are built.
add_library(vlcp_docker_protocol STATIC containers/docker_protocol.cc)
target_link_libraries(vlcp_docker_protocol PUBLIC vlcp_base)
add_library(vlcp_containers STATIC containers/plug.cc)
target_link_libraries(vlcp_containers PUBLIC vlcp_docker_protocol vlcp_link)
# The Docker plugin module and the seams' adapters over the daemon's parts (OvsdbPorts over the
# OVSDB client, ModelEndpoints over model::Containers; the CNI server uses them too). vlcpd links
# it through vlcp_daemon (declared after this fragment: the link is deferred to the end of src/).
add_library(vlcp_containers_daemon STATIC containers/adapters.cc containers/docker_driver.cc containers/docker_module.cc)
target_link_libraries(vlcp_containers_daemon PUBLIC vlcp_containers vlcp_ovsdb vlcp_model vlcp_api vlcp_io)
cmake_language(DEFER CALL target_link_libraries vlcp_daemon PUBLIC vlcp_containers_daemon)
# The reconcile (design §4): the planner over snapshots and Docker's Engine API view (paths and
# total decoders), pure and base only, so that docker_engine_fuzz builds in the libFuzzer tree.
add_library(vlcp_containers_reconcile STATIC containers/reconcile.cc containers/docker_engine.cc)
target_link_libraries(vlcp_containers_reconcile PUBLIC vlcp_docker_protocol vlcp_base)
target_link_libraries(vlcp_containers PUBLIC vlcp_containers_reconcile)
# The CNI server (requests -> the plug machine, answers in the CNI spec's shapes; tested with
# fakes) and the cniserver module (its unix socket over the daemon's ObjectDB and OVSDB client).
add_library(vlcp_cni_server STATIC containers/cni_server.cc)
target_link_libraries(vlcp_cni_server PUBLIC vlcp_containers vlcp_cni vlcp_model)
add_library(vlcp_cni_module STATIC containers/cni_module.cc)
target_link_libraries(vlcp_cni_module PUBLIC vlcp_cni_server vlcp_containers_daemon vlcp_api)
cmake_language(DEFER CALL target_link_libraries vlcp_daemon PUBLIC vlcp_cni_module)
# The reconcile run (design §4, step 8): snapshots in reconcile.h's order, plan_reconcile, the
# plan's actions through the plug machine, LinkOps, PortOps and the model; Docker's view over the
# HTTP client (DockerEngine: tests use a fake).
add_library(vlcp_docker_reconciler STATIC containers/docker_reconciler.cc)
target_link_libraries(vlcp_docker_reconciler PUBLIC vlcp_containers vlcp_ovsdb vlcp_model vlcp_api vlcp_io)
target_link_libraries(vlcp_containers_daemon PUBLIC vlcp_docker_reconciler)
