// Transport: a connection's byte stream (tcp, unix, TLS over tcp), the listeners and accepting.
// Listeners live on I/O thread 0; an accepted socket is handed to its connection's I/O thread by
// its native handle, so every later operation runs on the owning thread.
#include <sys/stat.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <filesystem>

#include "switch/internal.h"

namespace vlcp::sw {

namespace {

// Any Asio stream: a tcp or unix socket, or TLS over tcp (which adds the handshake).
template <typename S>
class AsioStream final : public Stream {
 public:
  template <typename... Args>
  explicit AsioStream(Args&&... args) : s_(std::forward<Args>(args)...) {}
  void handshake(std::function<void(error_code)> done) override {
    if constexpr (std::is_same_v<S, asio::ssl::stream<tcp::socket>>)
      s_.async_handshake(asio::ssl::stream_base::server, std::move(done));
    else
      done({});
  }
  void read(asio::mutable_buffer b, std::function<void(error_code, size_t)> done) override {
    s_.async_read_some(b, std::move(done));
  }
  void write(asio::const_buffer b, std::function<void(error_code, size_t)> done) override {
    asio::async_write(s_, b, std::move(done));
  }
  void close() override {
    error_code ec;
    s_.lowest_layer().shutdown(asio::socket_base::shutdown_both, ec);
    s_.lowest_layer().close(ec);
  }

 private:
  S s_;
};

}  // namespace

Status SwitchManager::bind_listeners(IoThread& t0) {
  for (auto& l : settings_.listeners) {
    error_code ec;
    if (l.kind == Listener::Kind::kUnix) {
      // A stale socket from an earlier run goes; anything else at the path is not ours to remove.
      std::error_code rm;
      auto st = std::filesystem::symlink_status(l.path, rm);
      if (st.type() == std::filesystem::file_type::socket)
        std::filesystem::remove(l.path, rm);
      else if (st.type() != std::filesystem::file_type::not_found)
        return make_error(Errc::kUnavailable,
                          "cannot listen on " + l.text + ": the path exists and is not a socket");
      auto acc = std::make_unique<unix_stream::acceptor>(t0.ctx);
      acc->open(unix_stream(), ec);
      if (!ec) acc->bind(unix_stream::endpoint(l.path), ec);
      // Connecting needs write permission on the socket: only root (and the group with 0660). The
      // mode is set before listen(), so no connection is accepted with the umask's mode.
      if (!ec && ::chmod(l.path.c_str(), settings_.socket_mode) != 0)
        ec = error_code(errno, boost::system::system_category());
      if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) return make_error(Errc::kUnavailable, "cannot listen on " + l.text + ": " + ec.message());
      bound_.push_back("unix://" + l.path);
      accept_unix(acc.get());
      t0.unix_acceptors.push_back(std::move(acc));
    } else {
      tcp::endpoint ep(asio::ip::make_address(l.host), l.port);
      auto acc = std::make_unique<tcp::acceptor>(t0.ctx);
      acc->open(ep.protocol(), ec);
      if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) acc->bind(ep, ec);
      if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) return make_error(Errc::kUnavailable, "cannot listen on " + l.text + ": " + ec.message());
      auto local = acc->local_endpoint(ec);
      bool ssl = l.kind == Listener::Kind::kSsl;
      bound_.push_back(std::string(ssl ? "ssl://" : "tcp://") + local.address().to_string() + ":" +
                       std::to_string(local.port()));
      accept_tcp(acc.get(), ssl);
      t0.tcp_acceptors.push_back(std::move(acc));
    }
  }
  return {};
}

void SwitchManager::adopt(std::function<std::unique_ptr<Stream>(asio::io_context&)> wrap, std::string peer) {
  IoThread& t = *threads_[next_thread_++ % threads_.size()];
  uint32_t id = ++next_conn_id_;
  asio::post(t.ctx,
             [&t, id, wrap = std::move(wrap), peer = std::move(peer)] { t.open(id, wrap(t.ctx), peer); });
}

void SwitchManager::accept_tcp(tcp::acceptor* acc, bool ssl) {
  acc->async_accept([this, acc, ssl](error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      VLCP_LOG_RL(kWarn, "switch", 60, 5) << "accept failed: " << ec.message();
    } else {
      error_code e2;
      auto peer = s.remote_endpoint(e2);
      std::string name = e2 ? "?" : peer.address().to_string() + ":" + std::to_string(peer.port());
      s.set_option(tcp::no_delay(true), e2);
      auto proto = peer.protocol();
      int fd = s.release(e2);
      asio::ssl::context* tls = static_cast<asio::ssl::context*>(tls_.get());
      adopt(
          [fd, proto, ssl, tls](asio::io_context& ctx) -> std::unique_ptr<Stream> {
            tcp::socket sock(ctx, proto, fd);
            if (ssl)
              return std::make_unique<AsioStream<asio::ssl::stream<tcp::socket>>>(std::move(sock), *tls);
            return std::make_unique<AsioStream<tcp::socket>>(std::move(sock));
          },
          (ssl ? "ssl:" : "tcp:") + name);
    }
    accept_tcp(acc, ssl);
  });
}

void SwitchManager::accept_unix(unix_stream::acceptor* acc) {
  acc->async_accept([this, acc](error_code ec, unix_stream::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      error_code e2;
      int fd = s.release(e2);
      adopt(
          [fd](asio::io_context& ctx) -> std::unique_ptr<Stream> {
            return std::make_unique<AsioStream<unix_stream::socket>>(
                unix_stream::socket(ctx, unix_stream(), fd));
          },
          "unix");
    }
    accept_unix(acc);
  });
}

}  // namespace vlcp::sw
