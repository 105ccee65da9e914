-- A small lake in the read contract's exact shape (docs/LAKE.md), written by hand for the
-- analytics tests. FixtureLake runs this in schema `staging`, writes each table to Parquet and
-- publishes it as a view of the same name.
--
-- Commit times: T1 2026-01-10 10:00, T2 2026-02-10 10:00, T3 2026-03-10 10:00,
-- T4 2026-04-10 10:00, T5 2026-05-10 10:00 (UTC); commit LSNs 100, 200, 300, 400, 500.
--
-- S1: inserted at T1 (gpa 3.00, Physics), gpa 3.50 at T2, major Mathematics at T3, deleted at
--     T4, re-inserted at T5 (gpa 2.10, Physics).
-- S2: inserted at T1 (gpa 4.00), never changed.
-- S3: inserted and updated in one transaction at T3 (gpa 1.00, then 1.20): its first version
--     has an empty interval.
-- Who: registrar1 at T1 through the portal (S2, P1, P2 and the courses come from the snapshot),
-- registrar2 at T2, the simulator at T3, admin at T4 (S1's delete), psql at T5 (origin
-- 'database', no user).
CREATE TABLE students_dim (student_key BIGINT, id VARCHAR, first_name VARCHAR, last_name VARCHAR,
  gender VARCHAR, address VARCHAR, date_of_birth DATE, major VARCHAR, year_of_study INTEGER,
  gpa DECIMAL(3,2), enrollment_status VARCHAR, row_effective_start TIMESTAMPTZ,
  row_effective_end TIMESTAMPTZ, current_row_indicator VARCHAR, is_deleted BOOLEAN,
  source_lsn UBIGINT, source_position UBIGINT, source_xid UBIGINT,
  changed_by VARCHAR, origin VARCHAR);
INSERT INTO students_dim VALUES
  (1, 'S1', 'Ada', 'Lovelace', 'Female', '1 Main St', '2004-05-06', 'Physics', 2, 3.00, 'Full-time',
   '2026-01-10 10:00:00+00', '2026-02-10 10:00:00+00', 'no', false, 100, 0, 7001, 'registrar1', 'portal'),
  (2, 'S2', 'Alan', 'Turing', 'Male', '2 Main St', '2003-06-23', 'Mathematics', 3, 4.00, 'Full-time',
   '2026-01-10 10:00:00+00', '9999-12-31 00:00:00+00', 'yes', false, 100, 1, 7001, NULL, 'snapshot'),
  (3, 'S1', 'Ada', 'Lovelace', 'Female', '1 Main St', '2004-05-06', 'Physics', 2, 3.50, 'Full-time',
   '2026-02-10 10:00:00+00', '2026-03-10 10:00:00+00', 'no', false, 200, 0, 7002, 'registrar2', 'portal'),
  (4, 'S1', 'Ada', 'Lovelace', 'Female', '1 Main St', '2004-05-06', 'Mathematics', 2, 3.50, 'Full-time',
   '2026-03-10 10:00:00+00', '2026-04-10 10:00:00+00', 'no', true, 300, 0, 7003, 'simulator', 'simulator'),
  (5, 'S3', 'Grace', 'Hopper', 'Female', '3 Main St', '2005-12-09', 'Biology', 1, 1.00, 'Part-time',
   '2026-03-10 10:00:00+00', '2026-03-10 10:00:00+00', 'no', false, 300, 1, 7003, 'simulator', 'simulator'),
  (6, 'S3', 'Grace', 'Hopper', 'Female', '3 Main St', '2005-12-09', 'Biology', 1, 1.20, 'Part-time',
   '2026-03-10 10:00:00+00', '9999-12-31 00:00:00+00', 'yes', false, 300, 2, 7003, 'simulator', 'simulator'),
  (7, 'S1', 'Ada', 'Lovelace', 'Female', '1 Main St', '2004-05-06', 'Physics', 2, 2.10, 'Full-time',
   '2026-05-10 10:00:00+00', '9999-12-31 00:00:00+00', 'yes', false, 500, 2, 7005, NULL, 'database');

CREATE TABLE professors_dim (professor_key BIGINT, id VARCHAR, title VARCHAR, first_name VARCHAR,
  last_name VARCHAR, gender VARCHAR, address VARCHAR, department VARCHAR, date_of_birth DATE,
  annual_salary INTEGER, row_effective_start TIMESTAMPTZ, row_effective_end TIMESTAMPTZ,
  current_row_indicator VARCHAR, is_deleted BOOLEAN, source_lsn UBIGINT, source_position UBIGINT,
  source_xid UBIGINT, changed_by VARCHAR, origin VARCHAR);
INSERT INTO professors_dim VALUES
  (1, 'P1', 'Dr.', 'Emmy', 'Noether', 'Female', '4 Main St', 'Physics', '1962-03-23', 120000,
   '2026-01-10 10:00:00+00', '9999-12-31 00:00:00+00', 'yes', false, 100, 3, 7001, NULL, 'snapshot'),
  (2, 'P2', 'Dr.', 'Paul', 'Dirac', 'Male', '5 Main St', 'Physics', '1962-08-08', 110000,
   '2026-01-10 10:00:00+00', '9999-12-31 00:00:00+00', 'yes', false, 100, 4, 7001, NULL, 'snapshot');

CREATE TABLE courses_dim (course_key BIGINT, id VARCHAR, name VARCHAR, units INTEGER,
  department VARCHAR, row_effective_start TIMESTAMPTZ, row_effective_end TIMESTAMPTZ,
  current_row_indicator VARCHAR, is_deleted BOOLEAN, source_lsn UBIGINT, source_position UBIGINT,
  source_xid UBIGINT, changed_by VARCHAR, origin VARCHAR);
INSERT INTO courses_dim VALUES
  (1, 'PHY101', 'Mechanics', 4, 'Physics',
   '2026-01-10 10:00:00+00', '9999-12-31 00:00:00+00', 'yes', false, 100, 5, 7001, NULL, 'snapshot'),
  (2, 'MAT101', 'Calculus', 3, 'Mathematics',
   '2026-01-10 10:00:00+00', '9999-12-31 00:00:00+00', 'yes', false, 100, 6, 7001, NULL, 'snapshot');

-- S1 enrolls in PHY101 (Fall 2026, taught by P1) at T1 and drops it at T3; S2 enrolls in PHY101
-- at T2, by then taught by P1 and P2 (two fact rows for one enrollment); S2 and S3 enroll in
-- MAT101 (Spring 2026, no professor).
CREATE TABLE course_enrollment_fact (student_key BIGINT, professor_key BIGINT, course_key BIGINT,
  semester VARCHAR, course_enrollment_count INTEGER, event_time TIMESTAMPTZ, source_lsn UBIGINT);
INSERT INTO course_enrollment_fact VALUES
  (1, 1, 1, 'Fall 2026', 1, '2026-01-10 10:00:00+00', 100),
  (2, 1, 1, 'Fall 2026', 1, '2026-02-10 10:00:00+00', 200),
  (2, 2, 1, 'Fall 2026', 1, '2026-02-10 10:00:00+00', 200),
  (2, NULL, 2, 'Spring 2026', 1, '2026-02-10 10:00:00+00', 200),
  (3, 1, 1, 'Fall 2026', -1, '2026-03-10 10:00:00+00', 300),
  (6, NULL, 2, 'Spring 2026', 1, '2026-03-10 10:00:00+00', 300);

-- The change logs. S2 arrives with the initial snapshot ('r'); S1's update at T2 carries no
-- before image (REPLICA IDENTITY DEFAULT, key unchanged).
CREATE TABLE students_changes (op VARCHAR, commit_lsn UBIGINT, lsn UBIGINT, position UBIGINT,
  xid UBIGINT, commit_time TIMESTAMPTZ, changed_by VARCHAR, origin VARCHAR, before_id VARCHAR,
  before_first_name VARCHAR, before_gpa DECIMAL(3,2), after_id VARCHAR, after_first_name VARCHAR,
  after_gpa DECIMAL(3,2));
INSERT INTO students_changes VALUES
  ('r', 100, 100, 1, 7001, '2026-01-10 10:00:00+00', NULL, 'snapshot', NULL, NULL, NULL, 'S2', 'Alan', 4.00),
  ('c', 100, 90, 0, 7001, '2026-01-10 10:00:00+00', 'registrar1', 'portal', NULL, NULL, NULL, 'S1', 'Ada', 3.00),
  ('u', 200, 190, 0, 7002, '2026-02-10 10:00:00+00', 'registrar2', 'portal', NULL, NULL, NULL, 'S1', 'Ada', 3.50),
  ('d', 400, 390, 0, 7004, '2026-04-10 10:00:00+00', 'admin', 'portal', 'S1', NULL, NULL, NULL, NULL, NULL),
  ('c', 500, 490, 2, 7005, '2026-05-10 10:00:00+00', NULL, 'database', NULL, NULL, NULL, 'S1', 'Ada', 2.10);

-- Enrollments: a delete at T3, an update moving a row to another key at T4, a truncate at T5
-- followed in the same transaction by an insert.
CREATE TABLE takes_changes (op VARCHAR, commit_lsn UBIGINT, lsn UBIGINT, position UBIGINT,
  xid UBIGINT, commit_time TIMESTAMPTZ, changed_by VARCHAR, origin VARCHAR,
  before_student_id VARCHAR, before_course_id VARCHAR,
  before_semester VARCHAR, after_student_id VARCHAR, after_course_id VARCHAR,
  after_semester VARCHAR);
INSERT INTO takes_changes VALUES
  ('c', 100, 95, 2, 7001, '2026-01-10 10:00:00+00', 'registrar1', 'portal', NULL, NULL, NULL, 'S1', 'PHY101', 'Fall 2026'),
  ('c', 200, 195, 1, 7002, '2026-02-10 10:00:00+00', 'registrar2', 'portal', NULL, NULL, NULL, 'S2', 'PHY101', 'Fall 2026'),
  ('c', 200, 196, 2, 7002, '2026-02-10 10:00:00+00', 'registrar2', 'portal', NULL, NULL, NULL, 'S2', 'MAT101', 'Spring 2026'),
  ('d', 300, 295, 3, 7003, '2026-03-10 10:00:00+00', 'simulator', 'simulator', 'S1', 'PHY101', 'Fall 2026', NULL, NULL, NULL),
  ('u', 400, 395, 1, 7004, '2026-04-10 10:00:00+00', 'admin', 'portal', 'S2', 'MAT101', 'Spring 2026', 'S2', 'MAT101', 'Fall 2026'),
  ('t', 500, 495, 0, 7005, '2026-05-10 10:00:00+00', NULL, 'database', NULL, NULL, NULL, NULL, NULL, NULL),
  ('c', 500, 496, 1, 7005, '2026-05-10 10:00:00+00', NULL, 'database', NULL, NULL, NULL, 'S3', 'MAT101', 'Spring 2026');
