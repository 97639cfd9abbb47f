-- Every counter below its limit, then one more on each; else the first full one.
-- KEYS: the counters; ARGV: each counter's limit and window in milliseconds, in turn.
for i, key in ipairs(KEYS) do
    local count = tonumber(redis.call('GET', key) or '0')
    if count >= tonumber(ARGV[2 * i - 1]) then return i end
end
for i, key in ipairs(KEYS) do
    redis.call('INCR', key)
    redis.call('PEXPIRE', key, ARGV[2 * i], 'NX')
end
return 0
