// Troupe: Ray's actor model in C++20, on real threads or inside a seeded simulator.
//
// Include this one header. The pieces:
//   actor_class.h   TROUPE_ACTOR(Class, &Class::method, ...) makes a class an actor class
//   system.h        System: spawn, get, wait, put, get_actor, kill
//   actor_handle.h  ActorHandle<T>: call(&T::method, args...) -> Ref<R>
//   ref.h           Ref<T>: a serializable future
//   actor_options.h ActorOptions, CallOptions, KillOptions
//   scheduling.h    Spread, NodeAffinity, placement groups, ActorInfo: where actors go and why not
//   errors.h        the exceptions thrown at get
//   this_actor.h    this_actor::id(), handle<T>(), system(), exit(), ...
//   clock.h         sleep, now, yield, random
//   sync.h          Mutex, Event, Semaphore: fiber-aware, scheduling points under sim
//   gather.h        gather(refs): wait for several results, values in order
//   storage.h       storage::put, get, remove (+ typed put_value, get_value): durable checkpoints
//   buggify.h       buggify("site"): FoundationDB's BUGGIFY, seeded under sim
//   run_main.h      run_main(argc, argv, driver): a program that runs under sim or threads
#pragma once

#include "runtime/actor_class.h"
#include "runtime/actor_handle.h"
#include "runtime/actor_options.h"
#include "runtime/buggify.h"
#include "runtime/clock.h"
#include "runtime/errors.h"
#include "runtime/gpu.h"
#include "runtime/gather.h"
#include "runtime/ref.h"
#include "runtime/run_main.h"
#include "runtime/scheduling.h"
#include "runtime/storage.h"
#include "runtime/sync.h"
#include "runtime/system.h"
#include "runtime/this_actor.h"
