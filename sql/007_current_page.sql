-- The current photo of each page of each TPS and ballot: the newest photo the reader identified
-- as that page (older ones stay in photo as its versions). One definition for the worker's
-- decoding, the public results and the anomaly flags.

CREATE VIEW current_page AS
SELECT DISTINCT ON (p.tps_code, p.ballot, r.page)
       p.tps_code, p.ballot, r.page, p.id AS photo_id, p.sha256, p.uploaded_at, r.reading
FROM photo p JOIN photo_reading r ON r.photo_id = p.id
WHERE r.outcome = 'page'
ORDER BY p.tps_code, p.ballot, r.page, p.uploaded_at DESC, p.id DESC;
