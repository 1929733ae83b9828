// ObjectDB over the WebAPI (VLCP's objectdb module, plus what operators' tools need):
//   GET  /objectdb/getonce?key=K          the value (null when absent)
//   GET  /objectdb/get?key=K[&key=K2...]  each key's record: value, version, created, updated
//   GET  /objectdb/list[?prefix=P]        the keys that exist, sorted
//   GET  /objectdb/watch?key=K&version=V[&key=K2&version=V2...][&timeout=S]
//        a long poll: answers as soon as a key's version differs from the one given (at once
//        if it already does), with the keys that changed; {} after `timeout` seconds (<= 60)
//   GET  /objectdb/dump[?prefix=P]        every key and value: {"key": value, ...}
//   POST /objectdb/restore                body {"key": value, ...}: written in transactions
// Answers are {"result": ...}, or {"error": "..."} with 400 (bad parameters), 404 (no such
// method), 409 (conflict), 503 (store unreachable) or 500.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "db/objectdb.h"

namespace vlcp::api {

// A record as the API shows it.
nlohmann::json record_json(const db::Record& r);

// Parameters of a query string, percent-decoded, in order (a key may repeat).
std::vector<std::pair<std::string, std::string>> query_params(const std::string& target);

// `db` may be null (the module is not loaded): every request then answers 503. Answers that come
// later hold only a weak reference: unloading the module meanwhile is safe.
void handle_objectdb(const std::shared_ptr<db::ObjectDb>& db, io::ControlLoop& loop,
                     const HttpRequest& request, HttpResponder respond);

}  // namespace vlcp::api
