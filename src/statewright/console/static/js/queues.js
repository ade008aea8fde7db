// The queues page (filled in below).
