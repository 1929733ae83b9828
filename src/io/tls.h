// TLS server contexts for our listeners (OpenFlow ssl://, the WebAPI's https://): TLS 1.2 and
// later, our key and certificate chain, and — when a CA file is given — peers must present a
// certificate that chains to it. check_tls_files() lets the configuration check load the same
// files up front, so a missing or wrong file fails --check-config, not the first connection.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "base/result.h"

namespace vlcp::io {

struct TlsFiles {
  std::string key, certificate, ca_certs;  // PEM files; ca_certs may be empty when peers are not checked
};
// `what` names the configuration in errors ("TLS key FILE (module.httpserver.key): ...").
Result<std::shared_ptr<boost::asio::ssl::context>> tls_server_context(const TlsFiles& files,
                                                                      bool require_peer_certificate,
                                                                      const std::string& what);

// Which of TlsFiles a problem is about.
enum class TlsPart { kKey, kCertificate, kCaCerts };
struct TlsProblem {
  TlsPart part;
  std::string message;  // "cannot read '/x/key.pem': No such file or directory", ...
};
// Loads the files that are set (empty ones are skipped: whether they are required is the
// listener's business) as tls_server_context() would: readable, PEM of the right kind, the key
// matching the certificate. The first problem, or nothing.
std::optional<TlsProblem> check_tls_files(const TlsFiles& files);

}  // namespace vlcp::io
