/** The MessageBus contract (bus-contract.ts) against the in-process bus. */
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { busContract } from './bus-contract.js';

busContract('MemoryBus', { make: () => new MemoryBus({ partitions: 4, retryDelayMs: 5 }), waitMs: 5000 });
