#include "sim/world.h"

#include <cassert>
#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "runtime/fiber/fiber.h"
#include "runtime/gpu_cost.h"

namespace troupe::sim {

struct World::SimFiber {
  enum class State : uint8_t { kReady, kRunning, kParked };
  FiberId id;
  ProcessId process;
  std::unique_ptr<Fiber> fiber;
  ExecutionContext context;
  State state = State::kReady;
  bool killed = false;  // its process died while it was running; destroy when it switches out
  WaitReason waiting;  // valid while parked
};

struct World::SimProcess {
  ProcessId id;
  NodeId node;
  std::string name;
  std::unique_ptr<ProcessHost> host;
  bool alive = true;
  std::map<FiberId, std::unique_ptr<SimFiber>> fibers;  // ordered: destroyed and reported in id order
  std::vector<ProcessId> watchers;                      // told when this process ends, in order
  std::string exit_reason;
  Rng rng;
};

World::World(WorldOptions options)
    : options_(std::move(options)),
      own_trace_(options_.trace ? nullptr : std::make_unique<Trace>()),
      trace_(options_.trace ? options_.trace : own_trace_.get()),
      root_rng_(options_.seed),
      network_rng_(root_rng_.fork(kStreamNetwork)),
      preemption_rng_(root_rng_.fork(kStreamPreemption)),
      strategy_(make_strategy(options_.strategy, options_.strategy_options, root_rng_.fork(kStreamScheduler))),
      stacks_(options_.stacks),
      network_(options_.network, [this](TraceEvent event) { trace(std::move(event)); }),
      buggify_(options_.seed, [this](TraceEvent event) { trace(std::move(event)); }) {
  callback_context_.platform = this;
  storage_ = std::make_unique<Storage>(*this, options_.storage, root_rng_.fork(kStreamStorage));
  gpus_ = std::make_unique<Gpus>(*this);
}

World::~World() {
  // Unwind every fiber still parked (in process and fiber id order), then drop the hosts.
  for (auto& process : processes_) destroy_process_fibers(*process);
  processes_.clear();
}

NodeId World::add_node(NodeOptions options) {
  NodeId id{static_cast<uint32_t>(nodes_.size())};
  nodes_.push_back({.id = id, .name = options.name.empty() ? fmt::format("node{}", id.value) : options.name,
                    .cpus = options.cpus, .memory_bytes = options.memory_bytes, .gpus = options.gpus,
                    .alive = true, .gpu_memory_bytes = options.gpu_memory_bytes, .gpu_flops = options.gpu_flops,
                    .gpu_bandwidth_bytes_per_s = options.gpu_bandwidth_bytes_per_s});
  assert(options.gpu_memory_bytes >= 0);
  assert(options.gpu_flops > 0 && options.gpu_bandwidth_bytes_per_s > 0);
  gpus_->add_node(nodes_.back());
  ++nodes_version_;
  return id;
}

std::vector<NodeInfo> World::nodes() const {
  std::vector<NodeInfo> nodes = nodes_;
  for (NodeInfo& node : nodes) node.gpu_lost = gpus_->lost(node.id);
  return nodes;
}

World::SimProcess* World::find_process(ProcessId id) {
  if (id.value == 0 || id.value > processes_.size()) return nullptr;
  return processes_[id.value - 1].get();
}

World::SimFiber* World::current_fiber() {
  ExecutionContext* context = ExecutionContext::current();
  if (context == nullptr || context->platform != this || !context->fiber.valid()) return nullptr;
  auto it = fibers_.find(context->fiber.value);
  return it == fibers_.end() ? nullptr : it->second;
}

absl::StatusOr<ProcessId> World::start_process(NodeId node, std::string name, std::unique_ptr<ProcessHost> host) {
  assert(host != nullptr);
  if (node.value >= nodes_.size()) {
    return absl::NotFoundError(fmt::format("no node {} (the world has {})", node, nodes_.size()));
  }
  if (!nodes_[node.value].alive) return absl::UnavailableError(fmt::format("node {} is down", node));
  ProcessId id{next_process_++};
  auto process = std::make_unique<SimProcess>();
  process->id = id;
  process->node = node;
  process->name = std::move(name);
  process->host = std::move(host);
  process->rng = root_rng_.fork(kStreamProcessBase + id.value);
  trace({.kind = TraceKind::kProcessStart, .node = node, .process = id, .detail = process->name});
  SimProcess& started = *process;
  assert(processes_.size() + 1 == id.value);
  processes_.push_back(std::move(process));
  // on_start runs before any other work of the process (the platform contract), so inline.
  ExecutionContext context{.platform = this, .node = node, .process = id, .host = started.host.get(), .fiber = {}};
  ScopedExecutionContext scope(&context);
  started.host->on_start();
  return id;
}

void World::kill_process(ProcessId id, std::string_view why) {
  SimProcess* process = find_process(id);
  if (process == nullptr || !process->alive) return;
  process->alive = false;
  process->exit_reason = std::string(why);
  trace({.kind = TraceKind::kProcessExit, .node = process->node, .process = id, .detail = std::string(why)});
  gpus_->process_ended(id);  // before its fibers unwind: a kernel points into its fiber's stack
  notify_watchers(*process, why);
  SimFiber* self = current_fiber();
  bool killing_self = self != nullptr && self->process == id;
  if (killing_self) {
    // Unwind the others now; this fiber unwinds once it has switched back to the scheduler.
    std::unique_ptr<SimFiber> keep = std::move(process->fibers[self->id]);
    process->fibers.erase(self->id);
    destroy_process_fibers(*process);
    process->fibers.emplace(self->id, std::move(keep));
    self->killed = true;
    switch_out_of_fiber();
    assert(false && "a killed fiber was resumed");
  }
  destroy_process_fibers(*process);
}

bool World::process_alive(ProcessId id) const {
  if (id.value == 0 || id.value > processes_.size()) return false;
  return processes_[id.value - 1]->alive;
}

std::vector<ProcessInfo> World::processes() const {
  std::vector<ProcessInfo> result;
  result.reserve(processes_.size());
  for (const auto& process : processes_) {
    result.push_back({.id = process->id, .node = process->node, .name = process->name, .alive = process->alive});
  }
  return result;
}

void World::crash_node(NodeId node, Nanos reboot_after) {
  assert(node.value < nodes_.size());
  if (!nodes_[node.value].alive) return;
  nodes_[node.value].alive = false;
  nodes_[node.value].rebooting = reboot_after >= 0;
  ++nodes_version_;
  std::string why = fmt::format("node {} crashed", node);
  trace({.kind = TraceKind::kProcessExit, .node = node, .detail = why});
  for (auto& process : processes_) {
    if (process->node == node && process->alive) kill_process(process->id, why);
  }
  for (ProcessId watcher : node_failure_watchers_) {
    call_host_after_detection(watcher, [node](ProcessHost& host) { host.on_node_down(node); });
  }
  if (reboot_after >= 0) {
    at(now_ + reboot_after, [this, node] {
      nodes_[node.value].alive = true;
      nodes_[node.value].rebooting = false;
      ++nodes_version_;
      trace({.kind = TraceKind::kProcessStart, .node = node, .detail = fmt::format("node {} rebooted", node)});
      gpus_->node_rebooted(node);
      for (ProcessId watcher : node_watchers_) {
        call_host_after_detection(watcher, [node](ProcessHost& host) { host.on_node_up(node); });
      }
    });
  }
}

void World::suspect_process(ProcessId id, std::string_view why) {
  SimProcess* process = find_process(id);
  if (process == nullptr || !process->alive) return;
  trace({.kind = TraceKind::kFault, .node = process->node, .process = id,
         .detail = fmt::format("suspect {}: {} (it keeps running)", id, why)});
  notify_watchers(*process, fmt::format("suspected: {}", why));
}

void World::throttle_gpu(NodeId node, uint32_t device, double slowdown, Nanos duration) {
  assert(node.value < nodes_.size());
  gpus_->throttle(node, device, slowdown, duration);
}

void World::pressure_gpu_memory(NodeId node, uint32_t device, int64_t bytes, Nanos duration) {
  assert(node.value < nodes_.size());
  gpus_->pressure(node, device, bytes, duration);
}

void World::lose_gpu(NodeId node, uint32_t device) {
  assert(node.value < nodes_.size());
  gpus_->lose(node, device);
  ++nodes_version_;
}

void World::bind_gpus(ProcessId process, std::vector<uint32_t> devices, int32_t weight) {
  SimProcess* bound = find_process(process);
  assert(bound != nullptr);
  gpus_->bind(process, bound->node, std::move(devices), weight);
}

absl::Status World::gpu_run(uint32_t device, const gpu::Work& work, absl::FunctionRef<void()>* /*kernel*/) {
  ProcessTurn turn;  // a threaded actor's method entering the runtime
  SimFiber* fiber = current_fiber();
  assert(fiber != nullptr && "gpu_run() called outside a fiber");
  absl::StatusOr<Nanos> exclusive = gpu_exclusive_ns(work, nodes_[fiber->context.node.value]);
  if (!exclusive.ok()) return exclusive.status();
  return gpus_->run(fiber->process, fiber->id, device, *exclusive);
}

absl::StatusOr<uint64_t> World::gpu_alloc(uint32_t device, int64_t bytes) {
  SimFiber* fiber = current_fiber();
  assert(fiber != nullptr && "gpu_alloc() called outside a fiber");
  absl::StatusOr<uint64_t> allocation = gpus_->alloc(fiber->process, device, bytes);
  if (!fiber->context.cooperative) yield();  // a scheduling point, like every runtime call
  return allocation;
}

void World::at(Nanos time, absl::AnyInvocable<void()> action) {
  schedule(std::max(time, now_), {.kind = ReadyItem::Kind::kCallback, .process = {}, .callback = std::move(action)});
}

void World::watch_process(ProcessId watcher, ProcessId target) {
  SimProcess* watched = find_process(target);
  assert(watched != nullptr && find_process(watcher) != nullptr);
  if (!watched->alive) {
    notify_exit(watcher, target, watched->exit_reason);
    return;
  }
  watched->watchers.push_back(watcher);
}

void World::call_host_after_detection(ProcessId process, absl::AnyInvocable<void(ProcessHost&)> call) {
  schedule(now_ + options_.failure_detection_ns,
           {.kind = ReadyItem::Kind::kCallback,
            .process = process,
            .callback = [this, process, call = std::move(call)]() mutable { call(*find_process(process)->host); }});
}

void World::notify_exit(ProcessId watcher, ProcessId target, std::string why) {
  call_host_after_detection(watcher, [target, why = std::move(why)](ProcessHost& host) {
    host.on_process_exit(target, why);
  });
}

void World::notify_watchers(SimProcess& process, std::string_view why) {
  for (ProcessId watcher : process.watchers) notify_exit(watcher, process.id, std::string(why));
  process.watchers.clear();
}

void World::destroy_process_fibers(SimProcess& process) {
  while (!process.fibers.empty()) {
    auto node = process.fibers.extract(process.fibers.begin());
    SimFiber& fiber = *node.mapped();
    fibers_.erase(fiber.id.value);
    ScopedExecutionContext scope(&fiber.context);
    fiber.fiber.reset();  // unwinds its stack if it had started
  }
}

void World::spawn(ProcessId process_id, std::string name, absl::AnyInvocable<void()> body) {
  SimProcess* process = find_process(process_id);
  assert(process != nullptr);
  if (!process->alive) return;
  auto fiber = std::make_unique<SimFiber>();
  fiber->id = FiberId{next_fiber_++};
  fiber->process = process_id;
  fiber->context = {.platform = this, .node = process->node, .process = process_id,
                    .host = process->host.get(), .fiber = fiber->id};
  trace({.kind = TraceKind::kFiberSpawn, .node = process->node, .process = process_id, .call = fiber->id.value,
         .detail = name});
  fiber->fiber = std::make_unique<Fiber>(stacks_, std::move(name), std::move(body));
  FiberId id = fiber->id;
  fibers_.emplace(id.value, fiber.get());
  process->fibers.emplace(id, std::move(fiber));
  make_ready({.kind = ReadyItem::Kind::kResume, .process = process_id, .fiber = id});
  if (SimFiber* self = current_fiber(); self != nullptr && !self->context.cooperative) yield();
}

void World::park(const WaitReason& reason) {
  SimFiber* fiber = current_fiber();
  assert(fiber != nullptr && "park() called outside a fiber");
  fiber->state = SimFiber::State::kParked;
  fiber->waiting = reason;
  trace({.kind = TraceKind::kFiberPark, .call = reason.object, .detail = std::string(reason.what)});
  if (reason.on != nullptr && reason.on->holder().valid() && stop_status_.ok()) {
    if (std::string cycle = lock_cycle(*fiber); !cycle.empty()) {
      // Reported at once: no fiber of the cycle can ever run again.
      stop_status_ = absl::FailedPreconditionError(fmt::format(
          "deadlock at {:.6f}ms: fibers wait for each other's locks in a cycle\n{}", now_ / 1e6,
          std::string_view(cycle).substr(0, cycle.size() - 1)));  // without the last line's newline
      stop_requested_ = true;
    }
  }
  switch_out_of_fiber();
}

void World::enter_turn() {
  Platform::enter_turn();
  SimFiber* fiber = current_fiber();
  if (fiber == nullptr || fiber->killed || std::uncaught_exceptions() > 0) return;  // unwinding: no switch
  const Nanos cpu = options_.preemption_max_ns > 0
                        ? static_cast<Nanos>(preemption_rng_.below(static_cast<uint64_t>(options_.preemption_max_ns) + 1))
                        : 0;
  if (cpu == 0) {
    yield();
    return;
  }
  // Preempted: runnable again (not parked: unpark leaves it alone) once its CPU time has passed.
  fiber->state = SimFiber::State::kReady;
  schedule(now_ + cpu, {.kind = ReadyItem::Kind::kResume, .process = fiber->process, .fiber = fiber->id});
  switch_out_of_fiber();
}

void World::unpark(FiberId id) {
  auto it = fibers_.find(id.value);
  if (it == fibers_.end()) return;
  SimFiber* fiber = it->second;
  if (fiber->state != SimFiber::State::kParked) return;
  fiber->state = SimFiber::State::kReady;
  fiber->waiting = {};
  make_ready({.kind = ReadyItem::Kind::kResume, .process = fiber->process, .fiber = id});
}

void World::yield() {
  SimFiber* fiber = current_fiber();
  assert(fiber != nullptr && "yield() called outside a fiber");
  // Nothing else is ready and no event is due now: the scheduler loop would take this fiber
  // straight back (a ready list of one makes no decision and traces nothing). Do to the World
  // exactly what that round trip does (one sequence number, one step, the same max_steps check)
  // without the two stack switches: a send's scheduling point costs nothing when nobody else
  // could run. Every other case, including a stop request, takes the loop.
  if (ready_.empty() && !stop_requested_ && steps_ < options_.max_steps &&
      (events_.empty() || events_.next_time() > now_) && ExecutionContext::current() == &fiber->context) {
    ++next_sequence_;
    ++steps_;
    return;
  }
  fiber->state = SimFiber::State::kReady;
  make_ready({.kind = ReadyItem::Kind::kResume, .process = fiber->process, .fiber = fiber->id});
  switch_out_of_fiber();
}

void World::switch_out_of_fiber() {
  Fiber::suspend();
  // Resumed by resume_fiber(), which reinstalled this fiber's context.
}

TimerId World::start_timer(ProcessId process, Nanos deadline, absl::AnyInvocable<void()> callback) {
  TimerId id = next_timer_++;
  pending_timers_.insert(id);
  schedule(std::max(deadline, now_),
           {.kind = ReadyItem::Kind::kCallback, .process = process, .callback = std::move(callback), .timer = id});
  return id;
}

void World::cancel_timer(TimerId timer) { pending_timers_.erase(timer); }

void World::send(ProcessId from, ProcessId to, std::string payload, Channel channel) {
  SimProcess* source = find_process(from);
  SimProcess* target = find_process(to);
  assert(source != nullptr);
  uint64_t bytes = payload.size();
  trace({.kind = TraceKind::kSend, .node = source->node, .process = from, .peer = to, .bytes = bytes});
  if (!source->alive || target == nullptr || !target->alive) {
    trace({.kind = TraceKind::kDrop, .node = source->node, .process = from, .peer = to, .bytes = bytes,
           .detail = source->alive ? "dead receiver" : "dead sender"});
  } else {
    uint32_t stream_sequence = 0;
    if (channel == Channel::kControl) {
      Stream& stream = streams_[{from.value, to.value}];
      assert(stream.next_send != UINT32_MAX && "2^32 control messages between two processes");
      stream_sequence = stream.next_send++;
    }
    route_message(*source, *target, std::move(payload), channel, stream_sequence);
  }
  if (SimFiber* self = current_fiber(); self != nullptr && !self->context.cooperative) yield();
}

void World::route_message(SimProcess& source, SimProcess& target, std::string payload, Channel channel,
                          uint32_t stream_sequence) {
  const ProcessId from = source.id;
  const ProcessId to = target.id;
  Route route = network_.route({from, source.node}, {to, target.node}, now_, network_rng_);
  if (route.dropped) {
    trace({.kind = TraceKind::kDrop, .node = source.node, .process = from, .peer = to, .bytes = payload.size(),
           .detail = std::string(route.reason)});
    lost_in_network(from, to, std::move(payload), channel, stream_sequence);
    return;
  }
  schedule(route.at, {.kind = ReadyItem::Kind::kDeliver, .channel = channel, .process = to, .from = from,
                      .stream_sequence = stream_sequence, .payload = std::move(payload), .epoch = route.epoch});
}

void World::lost_in_network(ProcessId from, ProcessId to, std::string payload, Channel channel,
                            uint32_t stream_sequence) {
  if (channel == Channel::kData) {
    connection_lost(from, to);
    return;
  }
  schedule(now_ + options_.retransmit_ns,
           {.kind = ReadyItem::Kind::kCallback,
            .callback = [this, from, to, stream_sequence, payload = std::move(payload)]() mutable {
              SimProcess* source = find_process(from);
              SimProcess* target = find_process(to);
              if (!source->alive || !target->alive) return;  // the stream died with its end
              trace({.kind = TraceKind::kSend, .node = source->node, .process = from, .peer = to,
                     .bytes = payload.size(), .detail = "resent"});
              route_message(*source, *target, std::move(payload), Channel::kControl, stream_sequence);
            }});
}

void World::connection_lost(ProcessId a, ProcessId b) {
  for (const auto& ends : {std::pair{a, b}, std::pair{b, a}}) {
    ProcessId process = ends.first;  // named copies: clang 14 cannot capture structured bindings
    ProcessId peer = ends.second;
    SimProcess* end = find_process(process);
    if (end == nullptr || !end->alive || !lost_notices_.insert({process.value, peer.value}).second) continue;
    call_host_after_detection(process, [this, process, peer](ProcessHost& host) {
      lost_notices_.erase({process.value, peer.value});
      trace({.kind = TraceKind::kConnectionLost, .peer = peer});
      host.on_connection_lost(peer);
    });
  }
}

uint64_t World::random_u64() {
  ExecutionContext* context = ExecutionContext::current();
  assert(context != nullptr && context->platform == this);
  SimProcess* process = find_process(context->process);
  assert(process != nullptr);
  return process->rng.next_u64();
}

void World::trace(TraceEvent event) {
  event.time = now_;
  ExecutionContext* context = ExecutionContext::current();
  if (context != nullptr && context->platform == this) {
    if (!event.process.valid()) {
      event.process = context->process;
      event.node = context->node;
    }
  }
  trace_->record(std::move(event));
}

void World::make_ready(ReadyItem item) {
  item.sequence = next_sequence_++;
  item.time = now_;
  ready_.push_back(std::move(item));
}

void World::schedule(Nanos at, ReadyItem item) {
  item.sequence = next_sequence_++;
  item.time = at;
  events_.push(std::move(item));
}

absl::Status World::run() {
  assert(!running_ && "World::run() is not reentrant");
  running_ = true;
  stop_requested_ = false;
  absl::Status status;
  stop_status_ = absl::OkStatus();
  // Counts the step of the item about to run; false (with `status` set) past max_steps.
  auto take_step = [this](absl::Status& out) {
    if (++steps_ <= options_.max_steps) return true;
    out = absl::ResourceExhaustedError(
        fmt::format("the run passed WorldOptions::max_steps ({} steps)", options_.max_steps));
    return false;
  };
  while (!stop_requested_) {
    if (ready_.empty() && !events_.empty() && events_.next_time() <= now_) {
      ReadyItem item = events_.pop();
      if (events_.empty() || events_.next_time() > now_) {
        // The only item ready: the ready list would hold just it, and the loop below would take
        // it without a decision. Run it from here (the same step count and limit), without the
        // two moves through the list.
        if (!take_step(status)) break;
        run_item(item);
        continue;
      }
      ready_.push_back(std::move(item));
    }
    while (!events_.empty() && events_.next_time() <= now_) ready_.push_back(events_.pop());
    if (ready_.empty()) {
      if (events_.empty()) {
        status = absl::FailedPreconditionError(
            fmt::format("deadlock at {:.6f}ms: nothing runnable and no pending event\n{}", now_ / 1e6,
                        deadlock_report()));
        break;
      }
      if (options_.deadline >= 0 && events_.next_time() > options_.deadline) {
        now_ = std::max(now_, options_.deadline);
        status = absl::DeadlineExceededError(
            fmt::format("deadline of {:.6f}ms passed with work unfinished\n{}", options_.deadline / 1e6,
                        deadlock_report()));
        break;
      }
      now_ = events_.next_time();
      if (now_ > options_.max_time) {
        status = absl::ResourceExhaustedError(
            fmt::format("simulated time passed WorldOptions::max_time ({}s)", options_.max_time / kSecond));
        break;
      }
      continue;
    }
    size_t index = 0;
    if (ready_.size() > 1) {
      index = strategy_->pick(ready_);
      if (index >= ready_.size()) {  // Strategy::kStop: a replayed schedule diverged
        status = strategy_->stop_reason();
        break;
      }
      trace({.kind = TraceKind::kDecision, .call = (uint64_t{ready_.size()} << 32) | index});
    }
    // Take the item out. The oldest (index 0, fifo's choice) keeps the order of the rest; any
    // other index swaps in the last item, O(1) (the order of the ready list is itself a function
    // of the seed, so this stays deterministic).
    ReadyItem item = std::move(ready_[index]);
    if (index == 0) {
      ready_.erase(ready_.begin());
    } else {
      if (index + 1 != ready_.size()) ready_[index] = std::move(ready_.back());
      ready_.pop_back();
    }
    if (!take_step(status)) break;
    run_item(item);
  }
  running_ = false;
  if (!stop_status_.ok()) status = stop_status_;
  return status;
}

void World::deliver(ReadyItem& item) {
  SimProcess* process = find_process(item.process);
  if (std::string_view lost = network_.lost(item.from, item.process, item.epoch); !lost.empty()) {
    trace({.kind = TraceKind::kDrop, .node = process ? process->node : NodeId{}, .process = item.process,
           .peer = item.from, .bytes = item.payload.size(), .detail = std::string(lost)});
    if (process != nullptr && process->alive && find_process(item.from)->alive) {
      lost_in_network(item.from, item.process, std::move(item.payload), item.channel, item.stream_sequence);
    }
    return;
  }
  if (process == nullptr || !process->alive) {
    trace({.kind = TraceKind::kDrop, .node = process ? process->node : NodeId{}, .process = item.process,
           .peer = item.from, .bytes = item.payload.size(), .detail = "receiver died in flight"});
    return;
  }
  if (item.channel == Channel::kData) {
    hand_over(*process, item.from, std::move(item.payload));
    return;
  }
  // The control stream delivers in send order: a message that overtook a resent one waits for it.
  Stream& stream = streams_[{item.from.value, item.process.value}];
  if (item.stream_sequence != stream.next_deliver) {
    stream.held.emplace(item.stream_sequence, std::move(item.payload));
    return;
  }
  ++stream.next_deliver;
  hand_over(*process, item.from, std::move(item.payload));
  for (auto next = stream.held.find(stream.next_deliver); next != stream.held.end() && process->alive;
       next = stream.held.find(stream.next_deliver)) {
    std::string payload = std::move(next->second);
    stream.held.erase(next);
    ++stream.next_deliver;
    hand_over(*process, item.from, std::move(payload));
  }
}

void World::hand_over(SimProcess& process, ProcessId from, std::string payload) {
  trace({.kind = TraceKind::kDeliver, .node = process.node, .process = process.id, .peer = from,
         .bytes = payload.size()});
  callback_context_ = {.platform = this, .node = process.node, .process = process.id, .host = process.host.get(),
                       .fiber = {}};
  ScopedExecutionContext scope(&callback_context_);
  process.host->on_message(from, std::move(payload));
}

void World::run_item(ReadyItem& item) {
  if (item.kind == ReadyItem::Kind::kResume) {
    auto it = fibers_.find(item.fiber.value);
    if (it != fibers_.end()) resume_fiber(*it->second);
    return;
  }
  if (item.kind == ReadyItem::Kind::kDeliver) {
    deliver(item);
    return;
  }
  if (item.timer != 0) {
    if (pending_timers_.erase(item.timer) == 0) return;  // cancelled
  }
  if (!item.process.valid()) {  // a World-level action (World::at): no process context
    item.callback();
    return;
  }
  SimProcess* process = find_process(item.process);
  if (process == nullptr || !process->alive) return;
  if (item.timer != 0) trace({.kind = TraceKind::kTimer, .node = process->node, .process = process->id});
  callback_context_ = {.platform = this, .node = process->node, .process = process->id,
                       .host = process->host.get(), .fiber = {}};
  ScopedExecutionContext scope(&callback_context_);
  item.callback();
}

void World::resume_fiber(SimFiber& fiber) {
  fiber.state = SimFiber::State::kRunning;
  FiberId id = fiber.id;
  ProcessId process_id = fiber.process;
  {
    ScopedExecutionContext scope(&fiber.context);
    fiber.fiber->resume();
  }
  // Only the fiber itself ran, so `fiber` still exists: a fiber that killed its own process is
  // kept (marked killed) for the teardown below. Parked or yielding: nothing more to do here.
  if (!fiber.killed && !fiber.fiber->finished()) return;
  // Finished or killed: tear it down.
  SimProcess* process = find_process(process_id);
  auto owned = process->fibers.find(id);
  assert(owned != process->fibers.end() && owned->second.get() == &fiber);
  if (!fiber.killed) trace({.kind = TraceKind::kFiberExit, .node = process->node, .process = process_id,
                            .call = id.value});
  auto node = process->fibers.extract(owned);
  fibers_.erase(id.value);
  ScopedExecutionContext scope(&node.mapped()->context);
  node.mapped()->fiber.reset();
}

std::string World::describe_parked(const SimFiber& fiber) const {
  const SimProcess& process = *processes_[fiber.process.value - 1];
  std::string doing = process.host->describe_fiber(fiber.id);
  return fmt::format("  {} {} ({}) fiber {} '{}'{} waits for {}\n", process.node, process.id, process.name, fiber.id,
                     fiber.fiber->name(), doing.empty() ? "" : fmt::format(" ({})", doing),
                     fiber.state == SimFiber::State::kParked ? process.host->describe_wait(fiber.waiting) : "(runnable)");
}

std::string World::deadlock_report() const {
  std::string report;
  for (const auto& process : processes_) {
    if (!process->alive) continue;
    for (const auto& [fid, fiber] : process->fibers) report += describe_parked(*fiber);
  }
  if (report.empty()) report = "  (no fiber is parked)\n";
  for (const auto& process : processes_) {
    if (process->alive) report += process->host->describe_state();
  }
  return report;
}

std::string World::lock_cycle(const SimFiber& start) const {
  // Follow holders: start waits on a lock held by F1, which waits on one held by F2, ... A
  // fiber waits on one thing at a time, so the walk is a path; it closes a cycle only if it
  // comes back to `start` (a cycle not through `start` was reported when it formed).
  std::string lines = describe_parked(start);
  const SimFiber* at = &start;
  for (size_t hops = 0; hops <= fibers_.size(); ++hops) {
    FiberId holder = at->waiting.on->holder();
    if (holder == start.id) return lines;
    auto next = fibers_.find(holder.value);
    if (next == fibers_.end()) return "";
    at = next->second;
    if (at->state != SimFiber::State::kParked || at->waiting.on == nullptr || !at->waiting.on->holder().valid()) {
      return "";
    }
    lines += describe_parked(*at);
  }
  return "";
}

}  // namespace troupe::sim
