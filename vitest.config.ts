import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts", "tests/**/*.test.tsx"],
    globalSetup: ["tests/helpers/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // PGlite instances are ~0.7 GiB each and the machine has 2 cores: keep parallelism modest
    pool: "forks",
    maxWorkers: 2,
    fileParallelism: true,
  },
});
