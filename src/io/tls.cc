#include "io/tls.h"

namespace vlcp::io {

namespace ssl = boost::asio::ssl;

Result<std::shared_ptr<ssl::context>> tls_server_context(const TlsFiles& files, bool require_peer_certificate,
                                                         const std::string& what) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  auto failed = [&](const char* part, const std::string& file) {
    return make_error(Errc::kInvalidArgument,
                      std::string("TLS ") + part + " " + file + " (" + what +
                          "): " + (file.empty() ? std::string("not configured") : ec.message()));
  };
  if (files.key.empty()) return failed("key", files.key);
  ctx->use_private_key_file(files.key, ssl::context::pem, ec);
  if (ec) return failed("key", files.key);
  if (files.certificate.empty()) return failed("certificate", files.certificate);
  ctx->use_certificate_chain_file(files.certificate, ec);
  if (ec) return failed("certificate", files.certificate);
  if (!files.ca_certs.empty()) {
    ctx->load_verify_file(files.ca_certs, ec);
    if (ec) return failed("CA", files.ca_certs);
  } else if (require_peer_certificate) {
    return failed("CA", files.ca_certs);
  }
  if (require_peer_certificate) ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  return ctx;
}

}  // namespace vlcp::io
