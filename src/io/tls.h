// TLS server contexts for our listeners (OpenFlow ssl://, the WebAPI's https://): TLS 1.2 and
// later, our key and certificate chain, and — when a CA file is given — peers must present a
// certificate that chains to it.
#pragma once

#include <memory>
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

}  // namespace vlcp::io
