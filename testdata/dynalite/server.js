// Runs dynalite for rulebench's tests (see cache/dynamotest): in memory, on
// 127.0.0.1, on a port the OS picks (so parallel test binaries never race
// for one), with tables active at once instead of after 500 ms.
//
// Prints {"port": N} on stdout once listening. Exits when stdin closes, so
// the server dies with the test binary that started it, however that ends.
'use strict'

const dynalite = require('dynalite')

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })

// Node closes idle keep-alive connections after 5 s by default. A close
// that crosses a request the client is sending on that connection resets
// it, and the tests do not retry (a retried write could apply twice), so
// leave closing idle connections to the client.
server.keepAliveTimeout = 0

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n')
})
server.on('error', (err) => {
  process.stderr.write(`dynalite: ${err.stack || err}\n`)
  process.exit(1)
})

process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
process.stdin.resume()
