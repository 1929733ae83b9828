// The NXM registers of VLCP's pipeline, declared once in flowtables/registers.def (docs/
// TRACE_DESIGN.md §6.4): the apps' named constants (pipeline::reg::in_network, ...), the flags
// of the flags register, and the table the trace decodes a register's value with. Header only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "ofp/oxm_fields.h"

namespace vlcp::pipeline {

enum class RegisterKind : uint8_t { kBits, kIpv4, kNetid, kOfport, kFlags };

struct RegisterDecl {
  ofp::Field field;
  std::string_view name, meaning;
  RegisterKind kind;
};

struct RegisterFlag {
  ofp::Field field;
  uint32_t bit;
  std::string_view name, meaning;
};

inline constexpr RegisterDecl kRegisters[] = {
#define VLCP_REGISTER(field, name, kind, meaning) {ofp::Field::field, #name, meaning, RegisterKind::kind},
#define VLCP_REGISTER_FLAG(field, bit, name, meaning)
#include "flowtables/registers.def"
#undef VLCP_REGISTER
#undef VLCP_REGISTER_FLAG
};

inline constexpr RegisterFlag kRegisterFlags[] = {
#define VLCP_REGISTER(field, name, kind, meaning)
#define VLCP_REGISTER_FLAG(field, bit, name, meaning) {ofp::Field::field, bit, #name, meaning},
#include "flowtables/registers.def"
#undef VLCP_REGISTER
#undef VLCP_REGISTER_FLAG
};

// The registers by name: pipeline::reg::in_network is ofp::Field::kReg4.
namespace reg {
#define VLCP_REGISTER(field, name, kind, meaning) inline constexpr ofp::Field name = ofp::Field::field;
#define VLCP_REGISTER_FLAG(field, bit, name, meaning)
#include "flowtables/registers.def"
#undef VLCP_REGISTER
#undef VLCP_REGISTER_FLAG
}  // namespace reg

// The flags by name: pipeline::reg_flag::hairpin is 0x8000 (of reg::flags).
namespace reg_flag {
#define VLCP_REGISTER(field, name, kind, meaning)
#define VLCP_REGISTER_FLAG(field, bit, name, meaning) inline constexpr uint32_t name = bit;
#include "flowtables/registers.def"
#undef VLCP_REGISTER
#undef VLCP_REGISTER_FLAG
}  // namespace reg_flag

// The declaration of a register, or null when VLCP's pipeline does not use it.
constexpr const RegisterDecl* find_register(ofp::Field field) {
  for (const auto& r : kRegisters)
    if (r.field == field) return &r;
  return nullptr;
}
constexpr const RegisterDecl* find_register(std::string_view name) {
  for (const auto& r : kRegisters)
    if (r.name == name) return &r;
  return nullptr;
}

// The register whose OVS name is "reg<N>" (as ofproto/trace and ovs-ofctl print it), or null.
inline const RegisterDecl* find_register_by_ovs_name(std::string_view ovs_name) {
  for (const auto& r : kRegisters)
    if (ofp::field_info(r.field).name == ovs_name) return &r;
  return nullptr;
}

// A value as the pipeline means it, without the model: "10.1.0.1" (kIpv4), "netid 1" (kNetid),
// "ofport 3" / "unresolved" (kOfport), "from_logical_port|hairpin" (kFlags, unknown bits in hex),
// "0x3" (kBits). The trace adds the model's names around it (a network's id for a netid).
inline std::string describe_register(const RegisterDecl& r, uint32_t value) {
  auto hex = [](uint32_t v) {
    char b[16];
    std::snprintf(b, sizeof b, "0x%x", v);
    return std::string(b);
  };
  switch (r.kind) {
    case RegisterKind::kIpv4:
      return std::to_string(value >> 24) + "." + std::to_string((value >> 16) & 0xff) + "." +
             std::to_string((value >> 8) & 0xff) + "." + std::to_string(value & 0xff);
    case RegisterKind::kNetid:
      return "netid " + std::to_string(value);
    case RegisterKind::kOfport:
      return value == 0 ? std::string("unresolved") : "ofport " + std::to_string(value);
    case RegisterKind::kFlags: {
      std::string out;
      uint32_t rest = value;
      for (const auto& f : kRegisterFlags) {
        if (f.field != r.field || !(value & f.bit)) continue;
        if (!out.empty()) out += '|';
        out += f.name;
        rest &= ~f.bit;
      }
      if (rest) out += (out.empty() ? "" : "|") + hex(rest);
      return out.empty() ? std::string("0") : out;
    }
    case RegisterKind::kBits:
      return hex(value);
  }
  return hex(value);
}

}  // namespace vlcp::pipeline
