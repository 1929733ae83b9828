# The containers layer (issue 19, docs/CONTAINERS_DESIGN.md §2, §3, §6.1): Docker's libnetwork
# remote protocol (pure: the method table, decoding, answers, the §2.6 status table, VLCP's names);
# the plug machine, the Docker and CNI servers and the reconcile join it as they are built.
add_library(vlcp_containers STATIC containers/docker_protocol.cc containers/plug.cc)
target_link_libraries(vlcp_containers PUBLIC vlcp_base vlcp_link)
