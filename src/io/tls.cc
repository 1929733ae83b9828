#include "io/tls.h"

#include <openssl/ssl.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace vlcp::io {

namespace ssl = boost::asio::ssl;

namespace {

const char* part_name(TlsPart part) {
  switch (part) {
    case TlsPart::kKey:
      return "key";
    case TlsPart::kCertificate:
      return "certificate";
    case TlsPart::kCaCerts:
      return "CA";
  }
  return "file";
}

// Loads the non-empty files into ctx; the first problem, or nothing.
std::optional<TlsProblem> load_files(ssl::context& ctx, const TlsFiles& files) {
  struct Part {
    TlsPart part;
    const std::string& path;
  };
  for (const Part& p : {Part{TlsPart::kKey, files.key}, Part{TlsPart::kCertificate, files.certificate},
                        Part{TlsPart::kCaCerts, files.ca_certs}}) {
    if (p.path.empty()) continue;
    // Said plainly before OpenSSL's error strings: the common mistake is a wrong path.
    if (std::ifstream in(p.path); !in)
      return TlsProblem{p.part, "cannot read '" + p.path + "': " + std::strerror(errno)};
    boost::system::error_code ec;
    if (p.part == TlsPart::kKey) {
      ctx.use_private_key_file(p.path, ssl::context::pem, ec);
    } else if (p.part == TlsPart::kCertificate) {
      ctx.use_certificate_chain_file(p.path, ec);
    } else {
      ctx.load_verify_file(p.path, ec);
    }
    if (ec)
      return TlsProblem{p.part,
                        "cannot use '" + p.path + "' as a " + part_name(p.part) + ": " + ec.message()};
  }
  // OpenSSL drops a key that does not match a certificate loaded after it, silently.
  if (!files.key.empty() && !files.certificate.empty() && SSL_CTX_check_private_key(ctx.native_handle()) != 1)
    return TlsProblem{TlsPart::kCertificate,
                      "certificate '" + files.certificate + "' does not match the key '" + files.key + "'"};
  return std::nullopt;
}

}  // namespace

std::optional<TlsProblem> check_tls_files(const TlsFiles& files) {
  ssl::context ctx(ssl::context::tls_server);
  return load_files(ctx, files);
}

Result<std::shared_ptr<ssl::context>> tls_server_context(const TlsFiles& files, bool require_peer_certificate,
                                                         const std::string& what) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  auto missing = [&](const char* part) {
    return make_error(Errc::kInvalidArgument, std::string("TLS ") + part + " (" + what + "): not configured");
  };
  if (files.key.empty()) return missing("key");
  if (files.certificate.empty()) return missing("certificate");
  if (files.ca_certs.empty() && require_peer_certificate) return missing("CA");
  if (auto problem = load_files(*ctx, files))
    return make_error(Errc::kInvalidArgument, std::string("TLS ") + part_name(problem->part) + " (" + what +
                                                  "): " + problem->message);
  if (require_peer_certificate) ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  return ctx;
}

}  // namespace vlcp::io
