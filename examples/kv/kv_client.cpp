#include "examples/kv/kv_client.hpp"

#include "framework/timeout.hpp"

namespace coronet::kv {

client::client(process& p, unique_handle conn, duration timeout)
    : proc_(&p), conn_(std::move(conn)), timeout_(timeout) {
    // A reply line is short, a VALUE's data at most max_value and its LF.
    in_.emplace(p, conn_.get(), max_value + 1);
}

task<result<client>> client::connect(process& p, endpoint server, duration timeout) {
    auto c = p.own(co_await with_timeout(timeout, p.connect(server)));
    if (!c) co_return error{c.error()};
    co_return client(p, std::move(*c), timeout);
}

task<result<reply>> client::exchange_once(const std::string& request) {
    if (auto w = co_await proc_->write_all(conn_, std::as_bytes(std::span(request))); !w)
        co_return error{w.error()};
    auto line = co_await in_->read_until("\n");
    if (!line) co_return error{line.error() == EMSGSIZE ? EBADMSG : line.error()};
    auto r = parse_reply({reinterpret_cast<const char*>(line->data()), line->size()});
    if (!r || r->kind != reply_kind::value) co_return r;
    auto data = co_await in_->read_exactly(r->length + 1);
    if (!data) co_return error{data.error()};
    if (data->back() != std::byte{'\n'}) co_return error{EBADMSG};
    value_.assign(reinterpret_cast<const char*>(data->data()), r->length);
    co_return r;
}

task<result<reply>> client::exchange(std::string request) {
    if (!conn_) co_return error{ENOTCONN};
    auto r = co_await with_timeout(timeout_, exchange_once(request));
    if (r && r->kind == reply_kind::error) {
        // The server closes after these (kv_protocol.hpp); the others leave it open.
        if (r->reason == value_too_large.reason) {
            close();
            co_return error{EMSGSIZE};
        }
        co_return error{r->reason == store_full.reason ? ENOSPC : EPROTO};
    }
    if (!r) {
        close();
        co_return error{r.error() == ENODATA ? ECONNRESET : r.error()};
    }
    co_return r;
}

task<result<std::optional<std::string>>> client::get(std::string_view key) {
    if (!valid_key(key)) co_return error{EINVAL};
    auto r = co_await exchange(format_request(command::get, key));
    if (!r) co_return error{r.error()};
    if (r->kind == reply_kind::not_found) co_return std::optional<std::string>{};
    if (r->kind != reply_kind::value) {
        close();
        co_return error{EBADMSG};
    }
    co_return std::optional<std::string>(std::move(value_));
}

task<result<>> client::set(std::string_view key, std::string_view value) {
    if (!valid_key(key)) co_return error{EINVAL};
    if (value.size() > max_value) co_return error{EMSGSIZE};
    std::string request = format_request(command::set, key, value.size());
    request += value;
    request += '\n';
    auto r = co_await exchange(std::move(request));
    if (!r) co_return error{r.error()};
    if (r->kind != reply_kind::stored) {
        close();
        co_return error{EBADMSG};
    }
    co_return result<>{};
}

task<result<bool>> client::del(std::string_view key) {
    if (!valid_key(key)) co_return error{EINVAL};
    auto r = co_await exchange(format_request(command::del, key));
    if (!r) co_return error{r.error()};
    if (r->kind != reply_kind::deleted && r->kind != reply_kind::not_found) {
        close();
        co_return error{EBADMSG};
    }
    co_return r->kind == reply_kind::deleted;
}

} // namespace coronet::kv
