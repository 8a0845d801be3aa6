//! Facts about the running system that keepalived's config checks depend on: interfaces, users,
//! groups and script files. Read from the real system (no mocks): the differential tests run ours
//! and keepalived on the same machine.
