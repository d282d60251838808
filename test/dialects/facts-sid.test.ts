/** The dialect facts in the sid bpftrace (see replay.ts). */
import { replayFacts } from './replay.js';

replayFacts('sid');
