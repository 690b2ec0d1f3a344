/** Machine description: shared with `mudsync bench batching`, which lives in src/. */
export { machineInfo, type MachineInfo } from "../../src/bench-batching/machine.ts";
