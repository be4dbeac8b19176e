// Preloaded with `node --import` into a CLI process that must act as if it ran later: the
// retention of `lethe shred` is months, and the CLI takes no clock from outside (nor should
// it). Date.now moves forward by LETHE_TEST_CLOCK_OFFSET_MS; git's own timestamps do not.
const offset = Number(process.env.LETHE_TEST_CLOCK_OFFSET_MS ?? '0');
const realNow = Date.now.bind(Date);
Date.now = () => realNow() + offset;
