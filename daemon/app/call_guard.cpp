#include "app/call_guard.hpp"

#include <cmath>
#include <ctime>
#include <random>

#include <boost/asio/post.hpp>

#include "common/duration.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"
#include "systemd/journal.hpp"
#include "trust/answer.hpp"
#include "trust/canonical.hpp"

namespace lb::app {
namespace asio = boost::asio;
using nlohmann::json;

namespace {

using steady = std::chrono::steady_clock;

tools::call_outcome refusal(const trust::verdict& v) {
  json response{{"error", v.message}, {"code", v.code}};
  // Google's execution errors name the challenge the person must meet; the model can act on it.
  if (v.code == "pinNeeded" || v.code == "challengeFailedPinNeeded")
    response["challengeNeeded"] =
        json{{"type", v.code == "pinNeeded" ? "pinNeeded" : "challengeFailedPinNeeded"}};
  tools::call_outcome o;
  o.ok = false;
  o.response = std::move(response);
  o.status = "refused";
  return o;
}

// PBKDF2 checks one shown_args may spend (a few milliseconds each, on the io thread).
constexpr std::size_t shown_check_budget = 4;

int local_minute_now() {
  const std::time_t t = std::time(nullptr);
  std::tm local{};
  localtime_r(&t, &local);
  return local.tm_hour * 60 + local.tm_min;
}

std::string wall_time_text(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

json published_json(const std::vector<outgoing_message>& messages) {
  json out = json::array();
  for (const auto& m : messages)
    out.push_back(json{{"topic", m.topic}, {"payload", m.payload}, {"qos", m.qos}, {"retain", m.retain}});
  return out;
}

long long ms_since(steady::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start).count();
}

}  // namespace

struct call_guard::held_call {
  explicit held_call(asio::io_context& io) : timer(io) {}
  std::string tool_name;
  json args;
  call_context ctx;
  answer_fn answer;
  asio::steady_timer timer;
};

call_guard::call_guard(asio::io_context& io, const config::config& cfg,
                       std::optional<trust::pin_verifier> pin, ports p)
    : io_(io),
      cfg_(cfg),
      topics_(config::topics::for_config(cfg.mqtt)),
      ports_(std::move(p)),
      gate_(cfg.trust, std::move(pin)),
      expiry_timer_(io) {
  open_audit();
}

void call_guard::open_audit() {
  audit_.reset();
  const std::string dir = trust::audit_directory(cfg_);
  if (dir.empty()) {
    log::warning("audit.off", "reason=\"no state directory (trust.audit.directory or StateDirectory=)\"");
  } else {
    auto opened = trust::audit_trail::open({dir, cfg_.trust.audit.max_bytes, cfg_.trust.audit.keep_files});
    if (auto* error = std::get_if<std::string>(&opened)) {
      log::error("audit.unavailable", "directory=" + log::quote(dir) + " reason=" + log::quote(*error));
    } else {
      audit_ = std::move(std::get<std::unique_ptr<trust::audit_trail>>(opened));
    }
  }
}

call_guard::~call_guard() = default;

json call_guard::shown_args(const json& value) const {
  const auto& pin = gate_.pin();
  if (!pin) return value;
  json shown = value;
  struct leaf {
    json* at;
    std::string text;
  };
  std::vector<leaf> leaves;
  std::vector<json*> todo{&shown};
  std::size_t checks = 0;
  while (!todo.empty()) {
    json* v = todo.back();
    todo.pop_back();
    std::optional<std::string> text;
    if (v->is_string()) {
      text = v->get_ref<const std::string&>();
    } else if (v->is_number_integer() || v->is_number_unsigned()) {
      text = v->dump();  // a PIN given as a number ({"code": 4711}) is still the PIN
    } else if (v->is_number_float()) {
      // The Live API sends every number as a double: 4711.0 is the PIN too.
      const double d = v->get<double>();
      if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 1e15)
        text = std::to_string(static_cast<long long>(d));
    } else if (v->is_structured()) {
      for (auto& child : *v) todo.push_back(&child);
    }
    if (!text) continue;
    checks += pin->checks_needed(*text);
    leaves.push_back({v, std::move(*text)});
  }
  // Each check is a PBKDF2 on the io thread: past a small budget, every long digit run is hidden
  // unchecked (hiding too much is the safe failure).
  const bool affordable = checks <= shown_check_budget;
  for (auto& l : leaves) {
    std::string hidden = affordable ? pin->redact(l.text) : pin->mask_long_runs(l.text);
    if (hidden != l.text) *l.at = std::move(hidden);  // otherwise the value stays as it was
  }
  return shown;
}

void call_guard::audit(json record) {
  if (!audit_) {
    systemd::send_audit_to_journal(record);
    return;
  }
  if (auto error = audit_->append(record)) {
    log::error("audit.write_failed", "reason=" + log::quote(*error));
    systemd::send_audit_to_journal(record);  // the journal's copy is then the only one
    return;
  }
  // The journal's copy carries the file's seq, time and chain link.
  systemd::send_audit_to_journal(audit_->last_record());
}

// --- calls from the model -----------------------------------------------------------------------

void call_guard::call(const tools::tool_spec& tool, json args, call_context ctx, answer_fn answer) {
  if (!ctx.evidence) ctx.evidence = std::make_shared<trust::turn_evidence>();
  if (stopped_) {
    answer(refusal(
        {trust::verdict::kind::refuse, "shuttingDown", "livebridge is shutting down; nothing was done", ""}));
    return;
  }
  judge(tool, std::move(args), std::move(ctx), std::move(answer), true);
}

void call_guard::judge(const tools::tool_spec& tool, json args, call_context ctx, answer_fn answer,
                       bool may_wait) {
  const std::string digest = trust::action_digest(tool.name, args);
  const trust::call_facts facts{steady::now(), local_minute_now()};
  trust::verdict v = gate_.judge(tool, args, digest, *ctx.evidence, facts);
  // What every audit record of this call starts with; not built for a query tool (not on record).
  const auto audit_base = [&] {
    return json{{"prompt", ctx.prompt_id},
                {"source", ctx.evidence->source},
                {"call", ctx.call_id},
                {"tool", tool.name},
                {"args", shown_args(args)}};
  };
  switch (v.what) {
    case trust::verdict::kind::run: {
      // Looking is not an action: a query tool's answers are not on record.
      json base;
      if (!tool.query) {
        base = audit_base();
        if (v.how == "pin")
          base["confirmation"] = json{{"how", "pin"}, {"by", "the person's words in this turn"}};
      }
      carry_out(tool, std::move(args), std::move(ctx), std::move(answer), std::move(base));
      return;
    }
    case trust::verdict::kind::refuse: {
      json base = audit_base();
      log::warning("trust.refused", "call=" + ctx.call_id + " name=" + tool.name + " code=" + v.code +
                                        " source=" + ctx.evidence->source +
                                        " reason=" + log::quote(v.message));
      base["decision"] = "refused";
      base["reason"] = v.code + ": " + v.message;
      base["ok"] = false;
      answer(refusal(v));
      audit(std::move(base));
      return;
    }
    case trust::verdict::kind::ask_person: {
      json base = audit_base();  // before `args` is moved away
      ask_person(tool, std::move(args), digest, ctx, answer, std::move(base));
      return;
    }
    case trust::verdict::kind::wait_for_words: {
      if (!may_wait) break;  // judged for the last time: cannot happen, the evidence is final
      auto& h = held_.emplace_back(io_);
      h.tool_name = tool.name;
      h.args = std::move(args);
      h.ctx = std::move(ctx);
      h.answer = std::move(answer);
      log::info("trust.waiting_for_words", "call=" + h.ctx.call_id + " name=" + tool.name);
      // One grace per turn, from the first call held: new words do not extend it.
      if (!h.ctx.evidence->grace_deadline)
        h.ctx.evidence->grace_deadline = facts.now + cfg_.trust.transcript_grace;
      h.timer.expires_at(*h.ctx.evidence->grace_deadline);
      h.timer.async_wait([this, evidence = std::weak_ptr(h.ctx.evidence),
                          alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec) {
        if (ec || alive.expired()) return;
        if (auto e = evidence.lock()) on_words(e, true);
      });
      return;
    }
  }
  answer(refusal({trust::verdict::kind::refuse, "pinNeeded",
                  "the person's words never gave the PIN; nothing was done", ""}));
}

void call_guard::carry_out(const tools::tool_spec& tool, json args, call_context ctx, answer_fn answer,
                           json audit_base) {
  const auto started = steady::now();
  const bool recorded = !audit_base.is_null();
  if (recorded) in_flight_[ctx.call_id] = audit_base;
  ports_.dispatcher().call(ctx.call_id, tool.name, std::move(args),
                           [this, started, recorded, call_id = ctx.call_id, answer = std::move(answer),
                            base = std::move(audit_base),
                            alive = std::weak_ptr<int>(alive_)](tools::call_outcome outcome) mutable {
                             json record;
                             if (recorded && !alive.expired()) {
                               in_flight_.erase(call_id);
                               record = std::move(base);
                               record["decision"] =
                                   outcome.status == tools::call_status::dry_run ? "dry_run" : "carried_out";
                               record["ok"] = outcome.ok;
                               record["status"] = outcome.status;
                               record["outcome"] = shown_args(outcome.response);
                               if (!outcome.published.empty())
                                 record["published"] = shown_args(published_json(outcome.published));
                               record["ms"] = ms_since(started);
                             }
                             // The model is waiting for the answer; the record is written after it.
                             answer(std::move(outcome));
                             if (record.is_null()) return;
                             asio::post(io_, [this, alive, record = std::move(record)]() mutable {
                               if (!alive.expired()) audit(std::move(record));
                             });
                           });
}

void call_guard::on_cancelled(const std::string& call_id, const std::string& reason) {
  auto it = in_flight_.find(call_id);
  if (it == in_flight_.end()) return;
  json record = std::move(it->second);
  in_flight_.erase(it);
  record["decision"] = "cancelled";
  record["ok"] = false;
  record["reason"] = reason;
  audit(std::move(record));
}

json call_guard::record_refusal(const std::string& call_id, const std::string& tool, const json& args,
                                const json& prompt_id, const std::string& source, const std::string& reason) {
  json shown = shown_args(args);
  audit(json{{"prompt", prompt_id},
             {"source", source},
             {"call", call_id},
             {"tool", tool},
             {"args", shown},
             {"decision", "refused"},
             {"ok", false},
             {"reason", reason}});
  return shown;
}

bool call_guard::cancel(const std::string& call_id) {
  for (auto it = held_.begin(); it != held_.end(); ++it) {
    if (it->ctx.call_id == call_id) {
      held_.erase(it);
      return true;
    }
  }
  return false;
}

void call_guard::refuse_held(const std::shared_ptr<trust::turn_evidence>& evidence,
                             const std::string& reason) {
  std::list<held_call> refused;
  for (auto it = held_.begin(); it != held_.end();) {
    auto next = std::next(it);
    if (it->ctx.evidence == evidence) refused.splice(refused.end(), held_, it);
    it = next;
  }
  for (auto& h : refused) {
    record_refusal(h.ctx.call_id, h.tool_name, h.args, h.ctx.prompt_id, evidence->source, reason);
    h.answer(refusal({trust::verdict::kind::refuse, "turnEnded", reason + "; nothing was done", ""}));
  }
}

std::vector<std::string> call_guard::cancel_all_held() {
  std::vector<std::string> ids;
  for (const auto& h : held_) ids.push_back(h.ctx.call_id);
  held_.clear();
  return ids;
}

void call_guard::on_words(const std::shared_ptr<trust::turn_evidence>& evidence, bool final) {
  if (final) evidence->transcript_may_grow = false;
  // Take the held calls of this turn out first: judging one may hold it again.
  std::list<held_call> again;
  for (auto it = held_.begin(); it != held_.end();) {
    auto next = std::next(it);
    if (it->ctx.evidence == evidence) again.splice(again.end(), held_, it);
    it = next;
  }
  for (auto& h : again) {
    h.timer.cancel();
    const tools::tool_spec* tool = ports_.dispatcher().find_tool(h.tool_name);
    if (tool == nullptr) {
      h.answer(refusal({trust::verdict::kind::refuse, "unknownFunction",
                        "the function " + h.tool_name + " is no longer declared; nothing was done", ""}));
      continue;
    }
    // It was counted once when it arrived.
    if (auto seen = evidence->calls_seen.find(trust::action_digest(h.tool_name, h.args));
        seen != evidence->calls_seen.end() && seen->second > 0)
      --seen->second;
    judge(*tool, std::move(h.args), std::move(h.ctx), std::move(h.answer), !final);
  }
}

// --- approval requests --------------------------------------------------------------------------

std::string call_guard::new_request_id() {
  static std::mt19937_64 rng{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  for (;;) {
    std::string id;
    std::uint64_t n = rng();
    for (int i = 0; i < 8; ++i, n >>= 4) id += hex[n & 0xf];
    if (book_.find(id) == nullptr) return id;
  }
}

json call_guard::request_json(const trust::approval_request& r) const {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(r.expires - steady::now());
  return json{{"id", r.id},
              {"tool", r.tool},
              {"args", shown_args(r.args)},
              {"message", r.message},
              {"prompt", r.prompt_id},
              {"source", r.source},
              {"expires", wall_time_text(std::chrono::system_clock::now() +
                                         std::max(left, std::chrono::milliseconds(0)))},
              {"expires_in_s", std::max<long long>(0, left.count() / 1000)},
              {"answer_topic", cfg_.mqtt.topic_prefix + "/confirm/" + r.id}};
}

void call_guard::ask_person(const tools::tool_spec& tool, json args, const std::string& digest,
                            const call_context& ctx, const answer_fn& answer, json base) {
  if (const auto* waiting = book_.waiting_for(digest)) {
    base["decision"] = "refused";
    base["ok"] = false;
    base["reason"] = "ackNeeded: already waiting for the person's answer to request " + waiting->id;
    audit(std::move(base));
    answer(
        refusal({trust::verdict::kind::refuse, "ackNeeded",
                 "the person has already been asked to approve exactly this (request " + waiting->id +
                     "); livebridge carries it out when they say yes. Do not call it again; nothing was done",
                 ""}));
    return;
  }
  trust::approval_request r;
  r.id = new_request_id();
  r.tool = tool.name;
  r.digest = digest;
  r.prompt_id = ctx.prompt_id;
  r.source = ctx.evidence->source;
  r.call_id = ctx.call_id;
  r.expires = steady::now() + cfg_.trust.confirm_timeout;
  if (tool.source) {
    if (auto text = tool.source->confirm_text(args)) r.message = gate_.without_pin(*text);
  } else if (tool.guard.confirm_message) {
    tools::variables vars;
    for (auto it = args.begin(); it != args.end(); ++it) vars.emplace(it.key(), it.value());
    auto rendered = tool.guard.confirm_message->render(vars, false);
    if (auto* text = std::get_if<std::string>(&rendered)) r.message = gate_.without_pin(*text);
  }
  if (r.message.empty())
    r.message = "Allow " + tool.name + " " + json_text(shown_args(args)) +
                (tool.description.empty() ? "" : " (" + tool.description + ")") + "?";
  r.args = std::move(args);
  const auto actions = book_.on_request(r, steady::now());
  for (const auto& a : actions) {
    if (a.what == trust::confirmation_book::action::kind::request_refused) {
      base["decision"] = "refused";
      base["reason"] = a.reason;
      base["ok"] = false;
      log::warning("trust.refused", "call=" + ctx.call_id + " name=" + tool.name +
                                        " code=tooManyRequests reason=" + log::quote(a.reason));
      answer(refusal({trust::verdict::kind::refuse, "tooManyRequests", a.reason + "; nothing was done", ""}));
      audit(std::move(base));
      run(actions);  // expiries found on the way are still reported
      return;
    }
  }
  const std::string id = r.id;
  json response{
      {"error",
       "confirmation needed: nothing was done yet. livebridge asked the person to approve \"" + r.message +
           "\" (request " + id + ", expires in " + format_duration(cfg_.trust.confirm_timeout) +
           "). Tell them to approve it on their phone, in Home Assistant or with `livebridge confirm " + id +
           " yes`. livebridge carries it out once they say yes and tells you the result; do not call it "
           "again."},
      {"code", "ackNeeded"},
      {"challengeNeeded", {{"type", "ackNeeded"}, {"request", id}}}};
  tools::call_outcome o;
  o.ok = false;
  o.response = std::move(response);
  o.status = "confirmation_requested";
  answer(std::move(o));
  run(actions);
  arm_expiry();
}

void call_guard::run(const trust::confirmation_book::actions& actions) {
  using kind = trust::confirmation_book::action::kind;
  for (const auto& a : actions) {
    switch (a.what) {
      case kind::publish_request: {
        const json request = request_json(a.request);
        log::notice("confirm.requested", "request=" + a.request.id + " name=" + a.request.tool +
                                             " source=" + a.request.source + " call=" + a.request.call_id);
        if (!ports_.publish(plain_message(topics_.confirm_request, json_text(request), 1, false)))
          log::warning("confirm.not_announced",
                       "request=" + a.request.id + " reason=\"the MQTT broker is not connected\"");
        ports_.event(json{{"event", "confirmation_requested"}, {"request", request}});
        audit(json{{"prompt", a.request.prompt_id},
                   {"source", a.request.source},
                   {"call", a.request.call_id},
                   {"tool", a.request.tool},
                   {"args", shown_args(a.request.args)},
                   {"decision", "confirmation_requested"},
                   {"confirmation", {{"how", "ack"}, {"request", a.request.id}}},
                   {"reason", a.request.message}});
        break;
      }
      case kind::publish_pending:
        publish_pending();
        break;
      case kind::execute:
        execute_approved(a.request, a.by);
        break;
      case kind::declined:
        finish_request(a.request, "declined", a.by, false,
                       json{{"error", "declined by " + a.by + "; nothing was done"}}, "declined", json(), -1);
        break;
      case kind::expired:
        finish_request(
            a.request, "expired", "", false,
            json{{"error", "nobody approved it within " + format_duration(cfg_.trust.confirm_timeout) +
                               "; nothing was done"}},
            "expired", json(), -1);
        break;
      case kind::withdrawn:
        finish_request(a.request, "withdrawn", "", false, json{{"error", a.reason + "; nothing was done"}},
                       a.reason, json(), -1);
        break;
      case kind::answer_refused:
        log::warning("confirm.answer_refused", "request=" + a.request.id + " reason=" + log::quote(a.reason));
        ports_.publish(plain_message(
            topics_.confirm_result,
            json_text(json{
                {"request", a.request.id}, {"decision", "refused"}, {"ok", false}, {"reason", a.reason}}),
            1, false));
        break;
      case kind::request_refused:
        break;  // answered by ask_person
    }
  }
}

void call_guard::execute_approved(const trust::approval_request& r, const std::string& by) {
  log::notice("confirm.approved", "request=" + r.id + " name=" + r.tool + " by=" + log::quote(by));
  const tools::tool_spec* tool = stopped_ ? nullptr : ports_.dispatcher().find_tool(r.tool);
  if (tool == nullptr) {
    finish_request(r, "approved", by, false,
                   json{{"error", stopped_ ? "livebridge is shutting down; nothing was done"
                                           : "the function is no longer declared; nothing was done"}},
                   "", json(), -1);
    return;
  }
  if (const auto v = gate_.admit_approved(*tool, steady::now()); v.what != trust::verdict::kind::run) {
    finish_request(r, "approved", by, false, json{{"error", v.message}, {"code", v.code}}, v.code, json(),
                   -1);
    return;
  }
  const auto started = steady::now();
  ports_.dispatcher().call(
      "approval-" + r.id, r.tool, r.args,
      [this, r, by, started, alive = std::weak_ptr<int>(alive_)](tools::call_outcome o) {
        if (alive.expired()) return;
        finish_request(r, o.status == tools::call_status::dry_run ? "dry_run" : "approved", by, o.ok,
                       shown_args(o.response), "",
                       o.published.empty() ? json() : shown_args(published_json(o.published)),
                       ms_since(started));
      },
      true);
}

void call_guard::finish_request(const trust::approval_request& r, const std::string& decision,
                                const std::string& by, bool ok, const json& outcome,
                                const std::string& reason, const json& published, long long ms) {
  const json args = shown_args(r.args);
  json result{{"request", r.id}, {"tool", r.tool}, {"args", args},       {"decision", decision},
              {"ok", ok},        {"by", by},       {"response", outcome}};
  if (!ports_.publish(plain_message(topics_.confirm_result, json_text(result), 1, false)))
    log::warning("confirm.result_not_published",
                 "request=" + r.id + " reason=\"the MQTT broker is not connected\"");
  ports_.event(json{{"event", "confirmation_result"}, {"result", result}});
  log::write(ok ? log::level::notice : log::level::warning, "confirm.finished",
             "request=" + r.id + " name=" + r.tool + " decision=" + decision + " ok=" + (ok ? "yes" : "no"));
  json record{{"prompt", r.prompt_id},
              {"source", r.source},
              {"call", r.call_id},
              {"tool", r.tool},
              {"args", args},
              {"decision", decision},
              {"ok", ok},
              {"outcome", outcome},
              {"confirmation", {{"how", "ack"}, {"by", by}, {"request", r.id}}}};
  if (!reason.empty()) record["reason"] = reason;
  if (!published.is_null()) record["published"] = published;
  if (ms >= 0) record["ms"] = ms;
  audit(std::move(record));
  // The model asked for it and was told to wait: it learns the outcome with its next input.
  std::string note = "[livebridge] Request " + r.id + " (" + r.tool + " " + json_text(args) + "): ";
  if (decision == "approved" || decision == "dry_run") {
    note += "approved by " + by + " and carried out; the device answered: " + json_text(outcome);
  } else {
    note += decision + "; it was not carried out (" + json_text(outcome) + ")";
  }
  ports_.tell_model(std::move(note));
}

void call_guard::publish_pending() {
  json list = json::array();
  for (const auto& r : book_.waiting()) list.push_back(request_json(r));
  ports_.publish(plain_message(topics_.confirm_pending, json_text(list), 1, true));
}

void call_guard::arm_expiry() {
  const auto next = book_.next_expiry();
  if (!next) {
    expiry_timer_.cancel();
    return;
  }
  expiry_timer_.expires_at(*next);
  expiry_timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    run(book_.on_tick(steady::now()));
    arm_expiry();
  });
}

void call_guard::on_answer(const std::string& request_id, const incoming_message& msg) {
  if (msg.retained) {
    // A retained answer would approve again at every start: someone's mistake, never a yes.
    log::warning("confirm.retained_ignored", "topic=" + msg.topic);
    return;
  }
  auto parsed = trust::parse_person_answer(msg.payload);
  if (auto* why = std::get_if<std::string>(&parsed)) {
    log::warning("confirm.bad_answer", "request=" + request_id + " reason=" + log::quote(*why));
    ports_.publish(plain_message(topics_.confirm_result,
                                 json_text(json{{"request", request_id},
                                                {"decision", "refused"},
                                                {"ok", false},
                                                {"reason", "unreadable answer: " + *why}}),
                                 1, false));
    return;
  }
  const auto& a = std::get<trust::person_answer>(parsed);
  if (stopped_) return;
  run(book_.on_answer(request_id, a.yes, a.by.empty() ? "mqtt" : a.by, steady::now()));
  arm_expiry();
}

void call_guard::on_link_up() {
  publish_pending();
}

void call_guard::reconfigure(const config::config& cfg, std::optional<trust::pin_verifier> pin) {
  run(book_.on_withdraw_all("the configuration was reloaded; ask again"));
  gate_.reconfigure(cfg.trust, std::move(pin));
  gate_.set_rate_limits(cfg.tools);
  const bool audit_moved = trust::audit_directory(cfg) != trust::audit_directory(cfg_) ||
                           cfg.trust.audit.max_bytes != cfg_.trust.audit.max_bytes ||
                           cfg.trust.audit.keep_files != cfg_.trust.audit.keep_files;
  cfg_ = cfg;
  if (audit_moved) open_audit();
  topics_ = config::topics::for_config(cfg.mqtt);
  arm_expiry();
}

void call_guard::update_tools(const config::config& cfg) {
  gate_.set_rate_limits(cfg.tools);
  cfg_.tools = cfg.tools;
}

void call_guard::stop() {
  if (stopped_) return;
  run(book_.on_withdraw_all("livebridge is shutting down"));
  stopped_ = true;
  expiry_timer_.cancel();
  std::list<held_call> held = std::move(held_);
  held_.clear();
  for (auto& h : held)
    h.answer(refusal(
        {trust::verdict::kind::refuse, "shuttingDown", "livebridge is shutting down; nothing was done", ""}));
}

}  // namespace lb::app
