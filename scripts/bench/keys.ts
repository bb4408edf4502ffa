// Fixed keys: the benchmark's database is created and dropped by the run itself. Shared by every
// server of the run, so that one session cookie signs in to each.
export const BENCH_SESSION_SECRET = 'bench-session-secret-0123456789-abcdefghijklmnop'
export const BENCH_ENCRYPTION_KEY = Buffer.alloc(32, 9)
