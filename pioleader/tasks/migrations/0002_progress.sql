-- What a long task has done so far (JSON), shown while it runs.
ALTER TABLE task_results ADD COLUMN progress TEXT;
