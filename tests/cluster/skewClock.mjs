// Preloaded into one test instance (NODE_OPTIONS=--import …): its clock runs PARLEY_TEST_CLOCK_SKEW_MS
// off, as a server whose NTP went wrong would. Only Date.now, which is where Parley reads the time
// it stamps on log rows and versions; timers and token checks keep the real clock.
const skew = Number(process.env.PARLEY_TEST_CLOCK_SKEW_MS ?? 0)
const now = Date.now
Date.now = () => now() + skew
