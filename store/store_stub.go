package store

// Placeholder until the real implementation lands (written in parallel).
