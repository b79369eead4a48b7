import Testing
import TrainingCore
import TrainingScheduler

@Suite("Scheduler: capacity, fair share, priority, per-owner limits and backfill")
struct SchedulerTests {
    typealias Entry = JobQueue.Entry

    static func cpus(_ count: Double, memoryGiB: Int = 1, gpus: Int = 0) -> ResourceAmount {
        ResourceAmount(milliCPUs: Int(count * 1000), memoryMiB: memoryGiB * 1024, gpus: gpus)
    }

    static func job(_ name: String, _ sequence: Int64, owner: UInt32 = 1000, cpus: Double = 1, priority: Int = 0,
                    lane: JobQueue.Lane = .new, runtime: Double = 3600) -> Entry {
        Entry(name: name, sequence: sequence, lane: lane, owner: owner, priority: priority, need: Self.cpus(cpus), runtimeBound: runtime)
    }

    /// Everything that may start now, in the order it starts.
    static func drain(_ scheduler: inout Scheduler, now: Double = 0) -> [String] {
        var started: [String] = []
        while let entry = scheduler.next(now: now) { started.append(entry.name) }
        return started
    }

    @Test("5 jobs on a capacity of 2: at most 2 run at once, and all start in submission order")
    func capacityOfTwo() {
        var scheduler = Scheduler(capacity: Self.cpus(2, memoryGiB: 8), policy: .init(slots: 10))
        for index in 1...5 { scheduler.queue.add(Self.job("j\(index)", Int64(index))) }
        var order = Self.drain(&scheduler)
        #expect(order == ["j1", "j2"])
        #expect(scheduler.running.count == 2)
        #expect(scheduler.waits["j3"] == .capacity(needed: Self.cpus(1), free: Self.cpus(0, memoryGiB: 6)))
        for finished in ["j1", "j2", "j3", "j4", "j5"] {
            scheduler.ended(finished)
            let started = Self.drain(&scheduler)
            #expect(scheduler.running.count <= 2)
            order += started
        }
        #expect(order == ["j1", "j2", "j3", "j4", "j5"])
    }

    @Test("job slots limit too, whatever the resources")
    func slots() {
        var scheduler = Scheduler(capacity: Self.cpus(64, memoryGiB: 64), policy: .init(slots: 2))
        for index in 1...3 { scheduler.queue.add(Self.job("j\(index)", Int64(index))) }
        #expect(Self.drain(&scheduler) == ["j1", "j2"])
        #expect(scheduler.waits["j3"] == .slots(inUse: 2, total: 2))
    }

    @Test("fair share: the other owner's job starts next, though one owner has 20 queued ahead of it")
    func fairShare() {
        var scheduler = Scheduler(capacity: Self.cpus(2, memoryGiB: 8), policy: .init(slots: 10))
        for index in 1...20 { scheduler.queue.add(Self.job("a\(index)", Int64(index), owner: 1001)) }
        scheduler.queue.add(Self.job("b1", 21, owner: 1002))
        #expect(Self.drain(&scheduler) == ["a1", "b1"])
        // Equal shares again once b1 ends: owner 1002 has nothing waiting, so 1001's line goes on in order.
        scheduler.ended("b1")
        #expect(Self.drain(&scheduler) == ["a2"])
        scheduler.queue.add(Self.job("b2", 22, owner: 1002))
        scheduler.ended("a1")
        // 1001 holds a2 and 1002 nothing: b2 goes first though a3 was submitted long before.
        #expect(Self.drain(&scheduler) == ["b2"])
    }

    @Test("a user's share counts what its jobs hold: a small job of a user running little goes before a user running much")
    func dominantShare() {
        var scheduler = Scheduler(capacity: Self.cpus(8, memoryGiB: 64), policy: .init(slots: 10))
        scheduler.started("big", .init(owner: 1001, need: Self.cpus(4), endsBy: 100))
        scheduler.started("small", .init(owner: 1002, need: Self.cpus(1), endsBy: 100))
        scheduler.queue.add(Self.job("a", 1, owner: 1001))
        scheduler.queue.add(Self.job("b", 2, owner: 1002))
        #expect(scheduler.next(now: 0)?.name == "b")
    }

    @Test("priority: a higher one starts first, across owners and within an owner; resuming jobs come before both")
    func priority() {
        var scheduler = Scheduler(capacity: Self.cpus(1, memoryGiB: 8), policy: .init(slots: 10))
        scheduler.queue.add(Self.job("low", 1, owner: 1001))
        scheduler.queue.add(Self.job("mine-urgent", 2, owner: 1001, priority: 10))
        scheduler.queue.add(Self.job("other-urgent", 3, owner: 1002, priority: 5))
        scheduler.queue.add(Self.job("resumed", 4, owner: 1003, priority: -5, lane: .resuming))
        var order: [String] = []
        for _ in 0..<4 {
            guard let entry = scheduler.next(now: 0) else { break }
            order.append(entry.name)
            scheduler.ended(entry.name)
        }
        #expect(order == ["resumed", "mine-urgent", "other-urgent", "low"])
    }

    @Test("an owner at max_running_per_user starts no more; the others go on")
    func ownerLimit() {
        var scheduler = Scheduler(capacity: Self.cpus(8, memoryGiB: 64), policy: .init(slots: 10, maxRunningPerOwner: 2))
        for index in 1...4 { scheduler.queue.add(Self.job("a\(index)", Int64(index), owner: 1001)) }
        scheduler.queue.add(Self.job("b1", 5, owner: 1002))
        #expect(Set(Self.drain(&scheduler)) == ["a1", "a2", "b1"])
        #expect(scheduler.waits["a3"] == .ownerLimit(running: 2, limit: 2))
        scheduler.ended("a1")
        #expect(Self.drain(&scheduler) == ["a3"])
    }

    @Test("backfill: a small job starts ahead of a big waiting one only when it cannot delay it")
    func backfill() {
        var scheduler = Scheduler(capacity: Self.cpus(4, memoryGiB: 64), policy: .init(slots: 10))
        // 3 of 4 CPUs run until t=1000 at the latest; the big job needs all 4, so it can start by t=1000.
        scheduler.started("running", .init(owner: 1001, need: Self.cpus(3), endsBy: 1000))
        scheduler.queue.add(Self.job("big", 1, owner: 1002, cpus: 4))
        scheduler.queue.add(Self.job("long-small", 2, owner: 1003, cpus: 1, runtime: 5000))
        scheduler.queue.add(Self.job("short-small", 3, owner: 1004, cpus: 1, runtime: 500))
        // The long one would still hold its CPU at t=1000: it waits. The short one ends by t=600.
        #expect(Self.drain(&scheduler, now: 100) == ["short-small"])
        #expect(scheduler.reservation?.job == "big" && scheduler.reservation?.at == 1000)
        #expect(scheduler.waits["big"] != nil && scheduler.waits["long-small"] != nil)
        scheduler.ended("running")
        scheduler.ended("short-small")
        #expect(Self.drain(&scheduler, now: 700) == ["big"])
    }

    @Test("backfill: a job that fits in what the waiting one leaves over starts, however long it runs")
    func backfillIntoSpare() {
        var scheduler = Scheduler(capacity: Self.cpus(8, memoryGiB: 64), policy: .init(slots: 10))
        scheduler.started("running", .init(owner: 1001, need: Self.cpus(6), endsBy: 1000))
        scheduler.queue.add(Self.job("big", 1, owner: 1002, cpus: 6))
        scheduler.queue.add(Self.job("long-1", 2, owner: 1003, cpus: 1, runtime: 50_000))
        scheduler.queue.add(Self.job("long-2", 3, owner: 1004, cpus: 1, runtime: 50_000))
        // At t=1000 the big job takes 6 of 8: 2 are spare, each long job takes one of them now.
        #expect(Set(Self.drain(&scheduler, now: 0)) == ["long-1", "long-2"])
        scheduler.queue.add(Self.job("long-3", 4, owner: 1005, cpus: 0.5, runtime: 50_000))
        #expect(Self.drain(&scheduler, now: 0) == [], "no spare left; and nothing free now either")
        scheduler.ended("running")
        #expect(Self.drain(&scheduler, now: 1000) == ["big"])
    }

    @Test("without backfill nothing overtakes a job waiting for capacity")
    func noBackfill() {
        var scheduler = Scheduler(capacity: Self.cpus(4, memoryGiB: 64), policy: .init(slots: 10, backfill: false))
        scheduler.started("running", .init(owner: 1001, need: Self.cpus(3), endsBy: 1000))
        scheduler.queue.add(Self.job("big", 1, owner: 1002, cpus: 4))
        scheduler.queue.add(Self.job("short-small", 2, owner: 1003, cpus: 1, runtime: 10))
        #expect(Self.drain(&scheduler, now: 0) == [])
    }

    @Test("within an owner, submission order holds; only backfill passes a waiting job, and only when it cannot delay it")
    func orderWithinOwner() {
        var scheduler = Scheduler(capacity: Self.cpus(4, memoryGiB: 64), policy: .init(slots: 10))
        scheduler.queue.add(Self.job("first", 1, owner: 1002, cpus: 2))
        scheduler.queue.add(Self.job("second", 2, owner: 1002, cpus: 1))
        #expect(Self.drain(&scheduler, now: 0) == ["first", "second"])

        scheduler = Scheduler(capacity: Self.cpus(4, memoryGiB: 64), policy: .init(slots: 10))
        scheduler.started("running", .init(owner: 1001, need: Self.cpus(2), endsBy: 1000))
        scheduler.queue.add(Self.job("big", 1, owner: 1002, cpus: 4))
        scheduler.queue.add(Self.job("long", 2, owner: 1002, cpus: 1, runtime: 5000))
        scheduler.queue.add(Self.job("short", 3, owner: 1002, cpus: 1, runtime: 10))
        #expect(Self.drain(&scheduler, now: 0) == ["short"])
        #expect(scheduler.queue.entries.map(\.name) == ["big", "long"])
    }

    @Test("GPUs are capacity too: a CPU job passes a job waiting for GPUs, a GPU job does not")
    func gpus() {
        var scheduler = Scheduler(capacity: Self.cpus(64, memoryGiB: 512, gpus: 2), policy: .init(slots: 10))
        scheduler.started("holder", .init(owner: 1001, need: Self.cpus(1, gpus: 2), endsBy: 1000))
        scheduler.queue.add(Entry(name: "gpu", sequence: 1, lane: .new, owner: 1002, need: Self.cpus(1, gpus: 1), runtimeBound: 5000))
        scheduler.queue.add(Entry(name: "gpu-2", sequence: 2, lane: .new, owner: 1003, need: Self.cpus(1, gpus: 1), runtimeBound: 5000))
        scheduler.queue.add(Entry(name: "cpu", sequence: 3, lane: .new, owner: 1004, need: Self.cpus(1), runtimeBound: 5000))
        #expect(Self.drain(&scheduler, now: 0) == ["cpu"])
    }

    @Test("what adopted and started jobs hold is given back once, whatever the order of events")
    func ledger() {
        var scheduler = Scheduler(capacity: Self.cpus(4, memoryGiB: 16), policy: .init(slots: 10))
        scheduler.started("a", .init(owner: 1, need: Self.cpus(2), endsBy: 10))
        scheduler.started("a", .init(owner: 1, need: Self.cpus(2), endsBy: 10))
        #expect(scheduler.inUse == Self.cpus(2))
        scheduler.ended("a")
        scheduler.ended("a")
        #expect(scheduler.inUse == .zero && scheduler.runningJobs(ofOwner: 1) == 0)
    }
}
