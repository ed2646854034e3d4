#include "trust/confirmation_book.hpp"

#include <algorithm>
#include <utility>

namespace lb::trust {

using kind = confirmation_book::action::kind;

void confirmation_book::retire(const std::string& id, ending how) {
  retired_.emplace_back(id, how);
  if (retired_.size() > retired_memory) retired_.pop_front();
}

void confirmation_book::expire_due(time_point now, actions& out) {
  bool changed = false;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (now < it->expires) {
      ++it;
      continue;
    }
    retire(it->id, ending::expired);
    out.push_back(action{kind::expired, std::move(*it), {}, {}});
    it = waiting_.erase(it);
    changed = true;
  }
  if (changed) out.push_back(action{kind::publish_pending, {}, {}, {}});
}

confirmation_book::actions confirmation_book::on_request(approval_request r, time_point now) {
  actions out;
  expire_due(now, out);
  const auto refuse = [&](const char* reason) {
    out.push_back(action{kind::request_refused, std::move(r), {}, reason});
    return out;
  };
  if (r.id.empty()) return refuse("no id");
  // An empty digest is what a failed hash gives; taking it would join unrelated calls.
  if (r.digest.empty()) return refuse("no digest");
  if (now >= r.expires) return refuse("expired before it was asked");
  if (waiting_for(r.digest) != nullptr) return out;
  if (find(r.id) != nullptr) return refuse("duplicate id");
  if (waiting_.size() >= max_waiting_) return refuse("too many requests waiting");
  waiting_.push_back(r);
  out.push_back(action{kind::publish_request, std::move(r), {}, {}});
  out.push_back(action{kind::publish_pending, {}, {}, {}});
  return out;
}

confirmation_book::actions confirmation_book::on_answer(std::string_view id, bool yes, std::string by,
                                                        time_point now) {
  actions out;
  expire_due(now, out);
  const auto it = std::find_if(waiting_.begin(), waiting_.end(), [&](const auto& r) { return r.id == id; });
  if (it == waiting_.end()) {
    const auto seen =
        std::find_if(retired_.rbegin(), retired_.rend(), [&](const auto& e) { return e.first == id; });
    approval_request named;
    named.id = std::string(id);
    const char* reason = seen == retired_.rend()             ? "unknown request"
                         : seen->second == ending::expired   ? "expired"
                         : seen->second == ending::withdrawn ? "withdrawn"
                                                             : "already answered";
    out.push_back(action{kind::answer_refused, std::move(named), std::move(by), reason});
    return out;
  }
  retire(it->id, ending::answered);
  out.push_back(action{yes ? kind::execute : kind::declined, std::move(*it), std::move(by), {}});
  waiting_.erase(it);
  out.push_back(action{kind::publish_pending, {}, {}, {}});
  return out;
}

confirmation_book::actions confirmation_book::on_tick(time_point now) {
  actions out;
  expire_due(now, out);
  return out;
}

confirmation_book::actions confirmation_book::on_withdraw_all(const std::string& reason) {
  actions out;
  for (auto& r : waiting_) {
    retire(r.id, ending::withdrawn);
    out.push_back(action{kind::withdrawn, std::move(r), {}, reason});
  }
  if (!waiting_.empty()) out.push_back(action{kind::publish_pending, {}, {}, {}});
  waiting_.clear();
  return out;
}

const approval_request* confirmation_book::waiting_for(std::string_view digest) const {
  for (const auto& r : waiting_)
    if (r.digest == digest) return &r;
  return nullptr;
}

const approval_request* confirmation_book::find(std::string_view id) const {
  for (const auto& r : waiting_)
    if (r.id == id) return &r;
  return nullptr;
}

std::optional<time_point> confirmation_book::next_expiry() const {
  std::optional<time_point> next;
  for (const auto& r : waiting_)
    if (!next || r.expires < *next) next = r.expires;
  return next;
}

}  // namespace lb::trust
