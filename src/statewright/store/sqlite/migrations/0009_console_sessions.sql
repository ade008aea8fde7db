-- Reserved: the console's sessions take this number (made on another line of work; when the
-- two meet, that file replaces this one).
SELECT 1;
