import Foundation
import TestSupport
import XCTest

/// WEBHOOK_RETRY_AFTER_MAX end to end: a huge Retry-After on 429 or 503 is capped.
final class RetryAfterCapTests: WorkerTestCase {
    func testAnHourLongRetryAfterIsCappedByRetryAfterMax() async throws {
        let limited = try await receiver(.respond { _, index in index == 0 ? .retryAfter("3600", status: 429) : .status(200) })
        let busy = try await receiver(.respond { _, index in index == 0 ? .retryAfter("86400", status: 503) : .status(200) })
        let worker = try startWorker([
            "WEBHOOK_ADDRESS": "\(limited.url),\(busy.url)", "WEBHOOK_RETRY_AFTER_MAX": "2",
            "RECURRENT_NOTIFICATIONS_TIMEOUT": "600", "JOB_SEND_NOTIFICATIONS_INTERVAL": "30",
        ])
        try push(1)
        // Without the cap the retries would come in an hour or a day; the scheduled delay
        // would be 600 s and the poll interval 30 s. With it: about 2 s.
        for endpoint in [limited, busy] {
            let attempts = try await endpoint.waitForRequests(count: 2, timeout: 25)
            let gap = attempts[1].arrival - attempts[0].arrival
            XCTAssertGreaterThanOrEqual(gap, 1.95, "the capped Retry-After is still waited")
            XCTAssertEqual(try json(attempts[1])["tries"] as? Int, 1, "a Retry-After answer is a failed try")
        }
        await stop(worker)
    }
}
