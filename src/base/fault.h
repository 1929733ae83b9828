// Fault points: places where a test may kill the process as kill -9 would (exit status 137, no
// destructors, no flush), to check what a crash between two steps leaves and who cleans it up
// (docs/CONTAINERS_DESIGN.md §4: the reconcile). The points are declared once, below; the
// environment variable VLCP_FAULT names at most one, read once when the process starts. Unset,
// fault::hit() is one compare of a global with a constant.
//
//   VLCP_FAULT=containers.after_veth vlcpd ...    # dies right after the plug machine's veth step
//
// A VLCP_FAULT that names no point is refused at start (a message on stderr, exit status 2), so a
// misspelt point never passes a crash test silently.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

namespace vlcp::fault {

// X(enumerator, name in VLCP_FAULT, where the process dies)
#define VLCP_FAULT_POINTS(X)                                                                                \
  X(kContainersAfterModel, "containers.after_model", "plug: step 1 (model port + info) committed, no veth") \
  X(kContainersAfterVeth, "containers.after_veth", "plug: step 2 (veth) made, no OVSDB port")               \
  X(kContainersAfterOvsdb, "containers.after_ovsdb", "plug: step 3 (OVSDB port) made, before the answer")   \
  X(kContainersDeleteAfterOvsdb, "containers.delete_after_ovsdb",                                           \
    "unplug: the OVSDB port removed, the veth and the model port not yet")

enum class Point : uint8_t {
#define VLCP_FAULT_ENUM(name, text, where) name,
  VLCP_FAULT_POINTS(VLCP_FAULT_ENUM)
#undef VLCP_FAULT_ENUM
};

inline constexpr size_t kPointCount = 0
#define VLCP_FAULT_COUNT(name, text, where) +1
    VLCP_FAULT_POINTS(VLCP_FAULT_COUNT)
#undef VLCP_FAULT_COUNT
    ;

inline constexpr std::string_view point_name(Point p) {
  switch (p) {
#define VLCP_FAULT_NAME(name, text, where) \
  case Point::name:                        \
    return text;
    VLCP_FAULT_POINTS(VLCP_FAULT_NAME)
#undef VLCP_FAULT_NAME
  }
  return "";
}

inline constexpr std::string_view point_where(Point p) {
  switch (p) {
#define VLCP_FAULT_WHERE(name, text, where) \
  case Point::name:                         \
    return where;
    VLCP_FAULT_POINTS(VLCP_FAULT_WHERE)
#undef VLCP_FAULT_WHERE
  }
  return "";
}

inline constexpr std::optional<Point> parse_point(std::string_view text) {
#define VLCP_FAULT_PARSE(name, t, where) \
  if (text == t) return Point::name;
  VLCP_FAULT_POINTS(VLCP_FAULT_PARSE)
#undef VLCP_FAULT_PARSE
  return std::nullopt;
}

namespace detail {

inline constexpr int kNone = -1;

// VLCP_FAULT's point (kNone when unset or empty); an unknown name ends the process (status 2).
inline int armed_from_env() {
  const char* v = std::getenv("VLCP_FAULT");
  if (v == nullptr || *v == '\0') return kNone;
  if (auto p = parse_point(v)) return static_cast<int>(*p);
  std::fprintf(stderr, "VLCP_FAULT=%s names no fault point; the points are:", v);
#define VLCP_FAULT_LIST(name, text, where) std::fprintf(stderr, " %s", text);
  VLCP_FAULT_POINTS(VLCP_FAULT_LIST)
#undef VLCP_FAULT_LIST
  std::fprintf(stderr, "\n");
  std::_Exit(2);
}

// Read once, when the process starts (static initialisation; getenv needs no other static).
inline int armed = armed_from_env();

[[noreturn]] inline void die(Point p) {
  // What a test's log shows; then as kill -9 (no destructors, no atexit, no buffered output).
  std::fprintf(stderr, "VLCP_FAULT: dying at %.*s\n", static_cast<int>(point_name(p).size()),
               point_name(p).data());
  ::_exit(137);
}

}  // namespace detail

// The point VLCP_FAULT armed, if any.
inline std::optional<Point> armed() {
  if (detail::armed == detail::kNone) return std::nullopt;
  return static_cast<Point>(detail::armed);
}

// Arms `p` (nullopt: none) in this process, for unit tests of code that calls hit().
inline void arm(std::optional<Point> p) {
  detail::armed = p ? static_cast<int>(*p) : detail::kNone;
}

// Ends the process with status 137 when `p` is the armed point.
inline void hit(Point p) {
  if (__builtin_expect(detail::armed == static_cast<int>(p), 0)) detail::die(p);
}

}  // namespace vlcp::fault
