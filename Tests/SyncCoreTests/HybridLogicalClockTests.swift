import SyncCore
import Testing

@Suite struct HybridLogicalClockTests {
    @Test func ticksFollowTheWallClock() {
        var clock = HybridLogicalClock()
        #expect(clock.tick(physical: 1000) == HLC(wall: 1000, logical: 0))
        #expect(clock.tick(physical: 1000) == HLC(wall: 1000, logical: 1))
        #expect(clock.tick(physical: 1005) == HLC(wall: 1005, logical: 0))
    }

    @Test func staysMonotonicWhenTheWallClockJumpsBack() {
        var clock = HybridLogicalClock()
        let before = clock.tick(physical: 10_000_000)
        // An NTP correction puts the clock back a full hour.
        let after = clock.tick(physical: 10_000_000 - 3_600_000)
        #expect(after > before)
        #expect(after == HLC(wall: 10_000_000, logical: 1))
        var previous = after
        for step in 0..<100 {
            let next = clock.tick(physical: 5_000 + UInt64(step))
            #expect(next > previous)
            previous = next
        }
    }

    @Test func logicalOverflowBorrowsTheNextMillisecond() {
        var clock = HybridLogicalClock(last: HLC(wall: 7, logical: UInt32.max))
        #expect(clock.tick(physical: 7) == HLC(wall: 8, logical: 0))
    }

    @Test func absorbsAPeerWithinTheDriftBound() {
        var clock = HybridLogicalClock()
        _ = clock.tick(physical: 1_000_000)
        let peer = HLC(wall: 1_000_000 + 60_000, logical: 4)  // a minute ahead
        #expect(clock.observe(peer, physical: 1_000_000) == .absorbed)
        #expect(clock.tick(physical: 1_000_001) == HLC(wall: 1_060_000, logical: 5))
    }

    @Test func refusesToJumpToAPeerDaysAhead() {
        var clock = HybridLogicalClock()
        _ = clock.tick(physical: 1_000_000)
        let threeDays: UInt64 = 3 * 86_400_000
        let peer = HLC(wall: 1_000_000 + threeDays, logical: 0)
        #expect(clock.observe(peer, physical: 1_000_000) == .farFuture(aheadBy: threeDays))
        // Local time goes on from local time, not from the skewed peer.
        #expect(clock.tick(physical: 1_000_010) == HLC(wall: 1_000_010, logical: 0))
        #expect(clock.last < peer)
    }

    @Test func theDriftBoundIsInclusiveAndConfigurable() {
        var clock = HybridLogicalClock(maxForwardDrift: 1000)
        #expect(clock.observe(HLC(wall: 2000), physical: 1000) == .absorbed)
        #expect(clock.observe(HLC(wall: 2001), physical: 1000) == .farFuture(aheadBy: 1001))
        #expect(HybridLogicalClock.defaultMaxForwardDrift == 600_000)
    }
}
