"""短信提醒, the app's side: which case steps are texted to whom and at which number, and the resident's choice on 我的.
The gateways, the queue and the sending are the sms/ unit (run by the worker process without app/)."""
