// Every WebsocketProvider registers a process 'exit' listener; tests open dozens.
process.setMaxListeners(0)
